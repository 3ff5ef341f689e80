/**
 * One sandboxed process from spawn to outcome: wait for bubblewrap's namespaces (--info-fd),
 * open the egress listener in its network namespace, release it (--block-fd), watch the limits,
 * and map the end to an outcome with its cause of death and the usage at that moment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Invocation, RunOptions } from '../../src/core/driver.ts';
import { abortError } from '../../src/core/driver.ts';
import { StrataError } from '../../src/core/errors.ts';
import { type ErrorInfo, type RunOutcome, type Usage, usageOf } from '../../src/core/execution.ts';
import { parseNetDev } from '../../src/resources/cgroup/counters.ts';
import type { CgroupGroup } from '../../src/resources/cgroup/group.ts';
import type { ScratchDisk } from '../../src/resources/scratch-disk.ts';
import { BLOCK_FD, INFO_FD } from './command.ts';
import type { SandboxEgress } from './egress.ts';
import { processOutcome } from './outcome.ts';

const MiB = 1024 * 1024;
const HOST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

export interface SandboxRun {
  argv: string[];
  invocation: Invocation;
  options: RunOptions;
  group: CgroupGroup;
  scratch: ScratchDisk | undefined;
  tmpBytes: number;
  /** When run() began (performance.now()), for start.initMs. */
  began: number;
  egress: SandboxEgress | undefined;
  settings: { killOnPidsLimit: boolean; watchInterval: number; maxFileSize: number };
}

/**
 * Whether a scratch disk counts as full: ext4 refuses a whole write it cannot fit (a failed
 * `dd bs=1M` leaves up to 1 MiB free), so "full" is less than a quarter of it, at most 2 MiB, free.
 */
const isFull = (s: { totalBytes: number; freeBytes: number }) => s.freeBytes < Math.min(2 * MiB, s.totalBytes / 4);

export const MEASURES = [
  'wallMs',
  'cpuMs',
  'memoryPeakBytes',
  'ioReadBytes',
  'ioWriteBytes',
  'netRxBytes',
  'netTxBytes',
] as const;

const ownNetNs = (() => {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return undefined;
  }
})();

/** rx/tx (loopback excluded) of the first process of `pids` that lives in another network namespace. */
function readSandboxNet(pids: number[]): { rx: number; tx: number } | undefined {
  if (!ownNetNs) return undefined;
  for (const pid of pids) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === ownNetNs) continue; // the outer bwrap, on the host
      return parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
    } catch {
      // The process exited between the listing and the read.
    }
  }
  return undefined;
}

/** bwrap's --info-fd JSON ({"child-pid": N, ...}), or undefined when it closed without one. */
function readInfo(stream: Readable | null | undefined): Promise<{ pid: number } | undefined> {
  return new Promise((resolve) => {
    if (!stream) return resolve(undefined);
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
      try {
        const pid = Number((JSON.parse(text) as Record<string, unknown>)['child-pid']);
        if (Number.isInteger(pid) && pid > 0) resolve({ pid });
      } catch {
        // Not complete yet.
      }
    });
    stream.once('close', () => resolve(undefined));
    stream.once('error', () => resolve(undefined));
  });
}

export async function runSandbox(run: SandboxRun): Promise<RunOutcome> {
  const { argv, invocation, options, group, scratch, tmpBytes, egress, settings: s } = run;
  const { limits, signal, logs } = options;
  const startedAt = performance.now();
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    env: { PATH: HOST_PATH, STRATA_CGROUP_PROCS: group.procsFiles.join(' ') },
  });

  // Network bytes: through the proxy when granted; else the namespace's own counters (all 0:
  // it has only a loopback), read while it runs.
  let net: { rx: number; tx: number } | undefined;
  const readNet = () => {
    if (egress) {
      const st = egress.stats();
      net = { rx: st.rxBytes, tx: st.txBytes };
    } else net = readSandboxNet(group.pids()) ?? net;
  };
  const snapshot = (): Usage => {
    readNet();
    return usageFrom(group, performance.now() - startedAt, net);
  };

  let abortedFor: ErrorInfo | undefined;
  let stoppedFor: (ErrorInfo & { status: 'killed' | 'timeout' }) | undefined;
  let stopUsage: Usage | undefined;
  const stop = (why: ErrorInfo & { status: 'killed' | 'timeout' }) => {
    if (!stoppedFor && !abortedFor) stopUsage = snapshot();
    stoppedFor ??= why;
    void group.kill();
  };
  const onAbort = () => {
    if (!stoppedFor && !abortedFor) stopUsage = snapshot();
    abortedFor ??= abortError(signal);
    void group.kill();
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const chunks: Buffer[] = [];
  let stdoutBytes = 0;
  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    if (stdoutBytes > limits.resultBytes) {
      stop({
        status: 'killed',
        code: 'result_too_large',
        message: `the script wrote more than ${limits.resultBytes} bytes to stdout (its result); write logs to stderr`,
      });
      return;
    }
    chunks.push(chunk);
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => logs.write(text));
  // A script that never reads stdin closes the pipe; that is not an error.
  child.stdin?.on('error', () => {});
  child.stdin?.end(invocation.inputJson);
  const block = child.stdio[BLOCK_FD] as Writable | null;
  block?.on('error', () => {});

  const exited = new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
  });

  // Set-up: bwrap made the namespaces and waits on BLOCK_FD; open the egress listener in its
  // network namespace, then let the interpreter start.
  let initMs: number | undefined;
  const info = await readInfo(child.stdio[INFO_FD] as Readable | null);
  if (info && !abortedFor && !stoppedFor) {
    try {
      await egress?.attach(info.pid, signal);
      if (!abortedFor && !stoppedFor) {
        block?.end('1');
        initMs = Math.round((performance.now() - run.began) * 100) / 100;
        options.onStart?.();
      }
    } catch (err) {
      // Given up because the signal fired: the abort is the outcome, not a set-up failure.
      if (!abortedFor)
        stop({
          status: 'killed',
          code: 'internal',
          message: `cannot set up network egress: ${(err as Error).message}`,
        });
    }
  }
  // Not released (stopped during set-up, possibly before the wrapper joined the group): kill
  // bubblewrap itself; closing BLOCK_FD alone would let it run the script.
  if (initMs === undefined) {
    child.kill('SIGKILL');
    void group.kill();
  }

  const checkPids = () => {
    if (s.killOnPidsLimit && group.pidsLimitHit())
      stop({
        status: 'killed',
        code: 'limit_exceeded',
        message: `the script reached its limit of ${limits.pids} processes and was stopped; raise limits.pids`,
      });
  };
  const watch = setInterval(() => {
    checkPids();
    readNet();
    // The executor owns the deadline; this is a backstop should its signal never come.
    if (Date.now() > options.deadline + 2000)
      stop({
        status: 'timeout',
        code: 'timeout',
        message: `the script ran past its ${limits.timeoutMs} ms deadline`,
      });
  }, s.watchInterval);

  const exit = await exited;
  const wallMs = performance.now() - startedAt;
  clearInterval(watch);
  // A fork refused between two checks still counts, whatever the script did next.
  checkPids();
  signal.removeEventListener('abort', onAbort);
  readNet();
  // Whatever is left (a daemonized grandchild) goes with the group before we report.
  await group.kill();
  await new Promise<void>((resolve) => {
    if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) return resolve();
    const t = setTimeout(resolve, 1000);
    child.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
  if (exit.error) throw new StrataError('internal', `cannot start the sandbox: ${exit.error.message}`);
  const space = scratch?.space();
  const outcome = processOutcome({
    exitCode: exit.code,
    signal: exit.signal,
    ...(abortedFor ? { aborted: abortedFor } : {}),
    ...(stoppedFor ? { stoppedFor } : {}),
    oomKilled: group.oomKilled(),
    stdout: Buffer.concat(chunks).toString('utf8'),
    usage: usageFrom(group, wallMs, net),
    ...(stopUsage ? { stopUsage } : {}),
    limits: {
      timeoutMs: limits.timeoutMs,
      memoryMb: limits.memoryMb,
      pids: limits.pids,
      resultBytes: limits.resultBytes,
    },
    tmpBytes,
    maxFileSize: s.maxFileSize,
    scratchFull: space !== undefined && isFull(space),
  });
  return initMs !== undefined ? { ...outcome, start: { kind: 'fresh', initMs } } : outcome;
}

/** Usage from the group's counters: only what was really read. */
function usageFrom(group: CgroupGroup, wallMs: number, net: { rx: number; tx: number } | undefined): Usage {
  const u = group.usage();
  const has = (f: (typeof MEASURES)[number]) => u.measured.includes(f);
  return usageOf({
    wallMs: Math.round(wallMs * 100) / 100,
    cpuMs: has('cpuMs') ? u.cpuMs : undefined,
    memoryPeakBytes: has('memoryPeakBytes') ? u.memoryPeakBytes : undefined,
    ioReadBytes: has('ioReadBytes') ? u.ioReadBytes : undefined,
    ioWriteBytes: has('ioWriteBytes') ? u.ioWriteBytes : undefined,
    netRxBytes: net?.rx,
    netTxBytes: net?.tx,
  });
}
