import { z } from 'zod';
import { boolean, commaList, duration, integer, size } from '../units.ts';

/** The process tier: scripts in bubblewrap + a cgroup (docs/process-tier.md). */
export const processSection = z
  .object({
    /** The bubblewrap binary. */
    bwrap: z.string().min(1).default('bwrap'),
    /** uid/gid the script runs as, on the host and inside the sandbox (nobody by default). */
    uid: integer().min(1).default(65534),
    gid: integer().min(1).default(65534),
    /** Interpreter binaries; node defaults to the worker's own Node binary. */
    bash: z.string().min(1).default('/bin/bash'),
    sh: z.string().min(1).default('/bin/sh'),
    python3: z.string().min(1).default('/usr/bin/python3'),
    node: z.string().default(''),
    /** Host paths bound read-only into every sandbox (the interpreters and their libraries). */
    readOnlyPaths: commaList(z.string().startsWith('/')).default([
      '/usr/bin',
      '/usr/lib',
      '/usr/lib64',
      '/etc/ld.so.cache',
      '/etc/alternatives',
    ]),
    /** RLIMIT_NOFILE inside the sandbox. */
    nofile: integer().positive().default(256),
    /** RLIMIT_FSIZE: the largest file a script may write. */
    maxFileSize: size().default(64 * 1024 ** 2),
    /** Stop the invocation (status killed, limit_exceeded) as soon as it hits its pids limit. */
    killOnPidsLimit: boolean().default(true),
    /** cgroup controllers the tier refuses to run without (limits it could not enforce otherwise). */
    requireControllers: commaList(z.enum(['cpu', 'cpuset', 'memory', 'io', 'pids', 'freezer'])).default([
      'cpu',
      'memory',
      'pids',
    ]),
    /** How often the driver checks a running group's counters (pids, OOM). */
    watchInterval: duration().default(100),
    /**
     * The writable /tmp: `disk` (a fresh ext4 on a loop device per invocation, where disk-I/O
     * limits bind and are counted), `tmpfs` (in memory; I/O limits are refused), or `auto`
     * (disk where the host can make one, else tmpfs; health says which).
     */
    scratch: z.enum(['auto', 'disk', 'tmpfs']).default('auto'),
    /** Where scratch images and their mount points live; empty = <OS temp dir>/strata-scratch. */
    scratchDir: z.string().default(''),
    /** nsenter (util-linux), used to open the egress listener inside a sandbox's network namespace. */
    nsenter: z.string().min(1).default('nsenter'),
    /** Connections one sandbox may hold open through the egress proxy at once. */
    egressMaxConnections: integer().positive().default(32),
  })
  .prefault({});
