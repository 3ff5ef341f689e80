/**
 * The create options of every container the tier makes, hardened the same way whatever runs in
 * it (a pure function, unit-tested): no new privileges, the daemon's default seccomp profile
 * (never overridden), read-only root with a small noexec /tmp, cgroup limits for pids, memory
 * (no swap), CPU, cpuset and block I/O, ulimits, no network (`none`: egress, when granted, is a
 * proxy the worker listens for inside the container's namespace, see egress.ts), no host mounts
 * but its own scratch /tmp, no daemon-side logs (output is captured over the attach stream), and labels.
 *
 * Cold containers (custom images) run as 65534 with no capability at all. Warm runner
 * containers run tini and the runner as uid 0 with only RUNNER_CAPS, so that the runner can start
 * user code as 65534 without any capability (runner/procs.ts) and user code cannot open the
 * runner's or tini's /proc/<pid>/fd/*, where the host protocol lives.
 */
import type Docker from 'dockerode';
import type { ResolvedLimits } from '../../src/core/limits.ts';

export const LABEL_STRATA = 'io.strata';
export const LABEL_WORKER = 'io.strata.worker';
export const LABEL_ROLE = 'io.strata.role';
export const LABEL_FUNCTION = 'io.strata.function';
export const SANDBOX_USER = '65534:65534';
/** The runner's user in warm containers (see the header). */
export const RUNNER_USER = '0:0';
/**
 * What the runner needs, and nothing else: SETUID/SETGID/SETPCAP to drop to 65534 with an empty
 * bounding set (setpriv), KILL to kill user processes of another uid, CHOWN to hand a work
 * directory to 65534, DAC_OVERRIDE/FOWNER to remove what user code left in it. User processes
 * lose all of them when their uid changes.
 */
export const RUNNER_CAPS = ['SETUID', 'SETGID', 'SETPCAP', 'KILL', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER'] as const;
const MIB = 1024 * 1024;

export interface HostFacts {
  /** CPUs on the node, for the default cpuset ("0-(n-1)"). */
  cpuCount: number;
  /** Block device (/dev/vda) under the daemon's data root, when throttling can apply. */
  blockDevice?: string;
  /** Whether the kernel / cgroup supports blkio weights. */
  ioWeight: boolean;
}

/** Tier settings (docker.*) the spec needs; limits come resolved (ResolvedLimits), never defaulted here. */
export interface SpecDefaults {
  /** Cores when the function sets no `cpu` (docker.defaultCpu). */
  cpu: number;
  nofile: number;
  nproc: number;
}

export interface ContainerSpecInput {
  name: string;
  image: string;
  cmd?: string[];
  env?: Record<string, string>;
  limits: ResolvedLimits;
  labels: Record<string, string>;
  /** Warm runner: stdin stays open across invocations; cold: closed after the input. */
  stdinOnce: boolean;
  /** A warm runner container: runner as uid 0 with RUNNER_CAPS (user code drops to 65534 inside). */
  runner?: boolean;
  facts: HostFacts;
  defaults: SpecDefaults;
  /**
   * A disk-backed scratch /tmp (a mounted ext4 on a loop device, host path): bound at /tmp instead
   * of the tmpfs, so block-I/O limits bind on it and its bytes are counted.
   */
  scratch?: { source: string };
  /** Devices the I/O limits apply to (paths); default the block device under the daemon's data root. */
  ioDevices?: readonly string[];
}

/** cgroup v2 weight (1..10000, 100 = default) -> v1 cpu shares (2..262144, 1024 = default). */
export const cpuSharesOf = (weight: number): number =>
  Math.max(2, Math.min(262_144, Math.round((weight * 1024) / 100)));
/** 1..10000 -> docker's BlkioWeight 10..1000. */
export const blkioWeightOf = (weight: number): number => Math.max(10, Math.min(1000, Math.round(weight / 10)));

export function containerSpec(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const { limits, defaults, facts } = input;
  const memory = limits.memoryMb * MIB;
  const tmpBytes = limits.tmpMb * MIB;
  const pids = limits.pids;
  const cpu = limits.cpu ?? defaults.cpu;
  const ioDevices = input.ioDevices ?? (facts.blockDevice ? [facts.blockDevice] : []);
  const throttle = (rate: number | undefined) =>
    rate !== undefined && ioDevices.length > 0 ? ioDevices.map((Path) => ({ Path, Rate: rate })) : undefined;
  const readBps = throttle(limits.ioReadBps);
  const writeBps = throttle(limits.ioWriteBps);
  const hostConfig: Docker.HostConfig = {
    NetworkMode: 'none',
    Privileged: false,
    CapDrop: ['ALL'],
    CapAdd: input.runner ? [...RUNNER_CAPS] : [],
    SecurityOpt: ['no-new-privileges:true'],
    ReadonlyRootfs: true,
    // The scratch disk is mounted noexec,nosuid,nodev on the host; a bind keeps those flags.
    ...(input.scratch ? {} : { Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${tmpBytes},mode=1777` } }),
    ShmSize: 8 * MIB,
    IpcMode: 'private',
    PidsLimit: pids,
    Memory: memory,
    MemorySwap: memory,
    MemorySwappiness: 0,
    ...(limits.memorySoftMb !== undefined ? { MemoryReservation: Math.min(memory, limits.memorySoftMb * MIB) } : {}),
    OomKillDisable: false,
    NanoCpus: Math.round(cpu * 1e9),
    CpusetCpus: limits.cpuset ?? `0-${Math.max(0, facts.cpuCount - 1)}`,
    ...(limits.cpuWeight !== undefined ? { CpuShares: cpuSharesOf(limits.cpuWeight) } : {}),
    ...(facts.ioWeight && limits.ioWeight !== undefined ? { BlkioWeight: blkioWeightOf(limits.ioWeight) } : {}),
    ...(readBps ? { BlkioDeviceReadBps: readBps } : {}),
    ...(writeBps ? { BlkioDeviceWriteBps: writeBps } : {}),
    Ulimits: [
      { Name: 'nofile', Soft: defaults.nofile, Hard: defaults.nofile },
      { Name: 'nproc', Soft: defaults.nproc, Hard: defaults.nproc },
      { Name: 'fsize', Soft: tmpBytes, Hard: tmpBytes },
      { Name: 'core', Soft: 0, Hard: 0 },
    ],
    Binds: [],
    Mounts: input.scratch
      ? [
          {
            Type: 'bind',
            Source: input.scratch.source,
            Target: '/tmp',
            ReadOnly: false,
            BindOptions: { Propagation: 'rprivate' },
          },
        ]
      : [],
    Devices: [],
    LogConfig: { Type: 'none', Config: {} },
    AutoRemove: false,
    RestartPolicy: { Name: 'no' },
    Init: false,
  };
  return {
    name: input.name,
    Image: input.image,
    ...(input.cmd ? { Cmd: input.cmd } : {}),
    Env: Object.entries(input.env ?? {}).map(([k, v]) => `${k}=${v}`),
    User: input.runner ? RUNNER_USER : SANDBOX_USER,
    WorkingDir: '/tmp',
    Hostname: 'sandbox',
    Labels: input.labels,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: input.stdinOnce,
    Tty: false,
    NetworkDisabled: true,
    StopTimeout: 1,
    HostConfig: hostConfig,
  };
}

/** The labels of a container made by this worker. */
export function workerLabels(
  workerId: string,
  role: 'warm' | 'cold',
  extra: Record<string, string> = {},
): Record<string, string> {
  return { [LABEL_STRATA]: '1', [LABEL_WORKER]: workerId, [LABEL_ROLE]: role, ...extra };
}
