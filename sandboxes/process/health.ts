/**
 * Fingerprint: can this host run bubblewrap sandboxes as an unprivileged uid? Each probe is a
 * list of commands (a generator); the worker's start runs them asynchronously (a chain of
 * synchronous spawns held its event loop for well over 100 ms on a loaded host:
 * test/cli/startup-loop.test.ts), tests deciding what to skip run them synchronously.
 */
import { execFile, spawnSync } from 'node:child_process';

/** What a probe step learns of one command: spawnSync's shape (`error` when it did not run). */
interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}
type Step = { file: string; args: string[]; env: Record<string, string>; timeout?: number };
type Probe<T> = Generator<Step, T, Ran>;

function runSync<T>(probe: Probe<T>): T {
  let next = probe.next(undefined as unknown as Ran);
  while (!next.done) {
    const { file, args, env, timeout } = next.value;
    const r = spawnSync(file, args, { encoding: 'utf8', env, ...(timeout ? { timeout } : {}) });
    next = probe.next({
      status: r.status,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      ...(r.error ? { error: r.error } : {}),
    });
  }
  return next.value;
}

async function runAsync<T>(probe: Probe<T>): Promise<T> {
  let next = probe.next(undefined as unknown as Ran);
  while (!next.done) {
    const { file, args, env, timeout } = next.value;
    const ran = await new Promise<Ran>((resolve) => {
      execFile(file, args, { encoding: 'utf8', env, ...(timeout ? { timeout } : {}) }, (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string }) | null;
        if (!e) resolve({ status: 0, stdout, stderr });
        else if (typeof e.code === 'number') resolve({ status: e.code, stdout, stderr });
        // Not started (ENOENT) or killed (timeout): no exit status.
        else resolve({ status: null, stdout, stderr, error: e });
      });
    });
    next = probe.next(ran);
  }
  return next.value;
}

export interface SandboxProbe {
  ok: boolean;
  reason?: string;
  version?: string;
}

export const probeSandbox = (settings: SandboxSettings): SandboxProbe => runSync(sandboxSteps(settings));
export const probeSandboxAsync = (settings: SandboxSettings): Promise<SandboxProbe> => runAsync(sandboxSteps(settings));
type SandboxSettings = { bwrap: string; uid: number; gid: number };

function* sandboxSteps(settings: SandboxSettings): Probe<SandboxProbe> {
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const v = yield { file: settings.bwrap, args: ['--version'], env };
  if (v.error || v.status !== 0)
    return { ok: false, reason: 'bubblewrap not installed (install the Debian package "bubblewrap")' };
  const version = v.stdout.trim();
  for (const tool of ['setpriv', 'prlimit']) {
    const t = yield { file: tool, args: ['--version'], env };
    if (t.error) return { ok: false, version, reason: `${tool} not installed (Debian package util-linux)` };
  }
  if (process.getuid?.() !== 0)
    return { ok: false, version, reason: 'the process tier requires root (cgroups and setpriv)' };
  const probe = yield {
    file: 'setpriv',
    args: [
      `--reuid=${settings.uid}`,
      `--regid=${settings.gid}`,
      '--clear-groups',
      '--',
      settings.bwrap,
      '--unshare-user',
      '--unshare-pid',
      '--unshare-net',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/lib',
      '/lib',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '--proc',
      '/proc',
      '--',
      '/usr/bin/true',
    ],
    env,
    timeout: 5000,
  };
  if (probe.status !== 0)
    return {
      ok: false,
      version,
      reason: `bubblewrap cannot create namespaces as uid ${settings.uid}: ${(probe.stderr || probe.error?.message || '').trim()}`,
    };
  return { ok: true, version };
}

/** Can the worker open a listener inside a sandbox's network namespace (the egress proxy's way in)? */
export const probeEgressAsync = (settings: { nsenter: string }) => runAsync(egressSteps(settings));

function* egressSteps(settings: { nsenter: string }): Probe<{ ok: boolean; reason?: string }> {
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const v = yield { file: settings.nsenter, args: ['--version'], env };
  if (v.error || v.status !== 0)
    return { ok: false, reason: `${settings.nsenter} not installed (Debian package util-linux): no egress proxy` };
  return { ok: true };
}
