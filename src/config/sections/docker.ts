import { z } from 'zod';
import { boolean, duration, integer } from '../units.ts';

/** Settings of the docker tier (sandboxes/docker, docs/docker-tier.md). */
export const dockerSection = z
  .object({
    /** Whether the tier starts at all. */
    enabled: boolean().default(true),
    /** Daemon unix socket; empty means $DOCKER_HOST, then /var/run/docker.sock. */
    socketPath: z.string().default(''),
    /** Label value marking this worker's containers; empty means the host name. Must differ between workers sharing a daemon. */
    workerId: z.string().default(''),
    /** Build missing runner images in the background at start-up (`strata images build` does it by hand). */
    autoBuildImages: boolean().default(true),
    /** Override the runner images (for images built from the Dockerfiles with a registry). */
    runnerImageJs: z.string().default(''),
    runnerImageScript: z.string().default(''),
    /** Warm containers kept per pool key (image + limits + function: never shared between functions) while the key is in use. */
    poolMin: integer().nonnegative().default(1),
    /** Warm containers per pool key at most (concurrent invocations of one key beyond this wait). */
    poolMaxPerKey: integer().positive().default(8),
    /** Warm containers in total; past it the least recently used idle one is evicted. */
    poolMax: integer().positive().default(32),
    /** An idle container beyond poolMin is removed after this long. */
    idleTimeout: duration().default(60_000),
    /** A pool key unused this long loses all its containers (poolMin no longer applies). */
    keyTtl: duration().default(600_000),
    /** How often idle containers are pinged and the daemon is checked. */
    healthInterval: duration().default(10_000),
    /** How often containers with this worker's label that nothing owns are removed. */
    reapInterval: duration().default(30_000),
    /** Longest wait for a container to start and its runner to say ready. */
    startTimeout: duration().default(20_000),
    /** CPU cores a container gets when the function sets no `cpu` limit. */
    defaultCpu: z.coerce.number().positive().default(1),
    /** RLIMIT_NOFILE inside containers. */
    ulimitNofile: integer().positive().default(1024),
    /**
     * RLIMIT_NPROC inside containers. The kernel counts it per uid across ALL containers (they all
     * run as 65534), so it is a node-wide backstop; PidsLimit is the per-container bound.
     */
    ulimitNproc: integer().positive().default(4096),
    /**
     * The containers' writable /tmp: `disk` (a fresh ext4 on a loop device per container, where
     * disk-I/O limits bind and are counted), `tmpfs` (in memory; I/O limits are refused), or `auto`
     * (disk where the host can make one: root, loop devices, a local daemon; else tmpfs; health says which).
     */
    scratch: z.enum(['auto', 'disk', 'tmpfs']).default('auto'),
    /** Where the scratch images and their mount points live; empty = <OS temp dir>/strata-docker-scratch/<workerId>. */
    scratchDir: z.string().default(''),
    /** nsenter (util-linux), used to open the egress proxy's listener inside a container's network namespace. */
    nsenter: z.string().min(1).default('nsenter'),
    /** Connections one container may hold open through the egress proxy at once. */
    egressMaxConnections: integer().positive().default(32),
  })
  .prefault({});

export type DockerSettings = z.output<typeof dockerSection>;
