import { describe, expect, it } from 'vitest';
import { EGRESS_SOCKET_INSIDE, NODE_INSIDE, sandboxArgv } from '../../../sandboxes/process/command.ts';
import { parseResult, processOutcome } from '../../../sandboxes/process/outcome.ts';
import { usageOf } from '../../../src/core/execution.ts';

const base = {
  bwrap: 'bwrap',
  shell: '/bin/bash',
  uid: 65534,
  gid: 65534,
  interpreter: 'bash' as const,
  interpreterPath: '/bin/bash',
  scriptPath: '/tmp/strata-proc-1/abc-main.sh',
  readOnlyPaths: ['/usr/bin', '/usr/lib'],
  scratch: { kind: 'tmpfs' as const, bytes: 1024 },
  nofile: 64,
  maxFileSize: 2048,
  env: { FOO: 'bar' },
  cgroupBinds: [['/sys/fs/cgroup/memory/strata/strata-sbx-1', '/sys/fs/cgroup/memory']] as const,
};

describe('sandbox command line', () => {
  it('joins the cgroup first, then rlimits, then drops uid, then bwrap', () => {
    const argv = sandboxArgv(base);
    expect(argv.slice(0, 4)).toEqual(['/bin/bash', '--norc', '--noprofile', '-c']);
    expect(argv[4]).toContain('$STRATA_CGROUP_PROCS');
    // Descriptors the worker inherited are closed before anything else runs.
    expect(argv[4]).toMatch(/^for f in \/proc\/self\/fd\/\*.*exec \$n>&-/);
    const at = (x: string) => argv.indexOf(x);
    expect(at('prlimit')).toBeLessThan(at('setpriv'));
    expect(at('setpriv')).toBeLessThan(at('bwrap'));
    expect(argv).toContain('--nofile=64:64');
    expect(argv).toContain('--fsize=2048:2048');
    expect(argv).toContain('--core=0:0');
    expect(argv).toContain('--reuid=65534');
    for (const flag of [
      '--unshare-user',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-net',
      '--die-with-parent',
      '--clearenv',
    ])
      expect(argv).toContain(flag);
    const size = at('--size');
    expect(argv.slice(size, size + 4)).toEqual(['--size', '1024', '--tmpfs', '/tmp']);
    expect(argv.slice(at('--info-fd'), at('--info-fd') + 4)).toEqual(['--info-fd', '3', '--block-fd', '4']);
    // Only /tmp stays writable: the root and /dev are remounted read-only after every mount.
    const ro = argv.lastIndexOf('--remount-ro');
    expect(argv.slice(ro - 2, ro + 2)).toEqual(['--remount-ro', '/dev', '--remount-ro', '/']);
    expect(ro).toBeGreaterThan(argv.lastIndexOf('--ro-bind'));
    expect(argv).not.toContain('HTTP_PROXY');
    expect(argv.slice(-3)).toEqual(['--', '/bin/bash', '/strata/main.sh']);
    const env = at('FOO');
    expect(argv[env - 1]).toBe('--setenv');
    expect(argv[env + 1]).toBe('bar');
  });

  it('always unshares the network; with egress sets the proxy variables and binds the socket', () => {
    const argv = sandboxArgv({
      ...base,
      interpreter: 'node',
      interpreterPath: '/opt/node/bin/node',
      env: { HTTP_PROXY: 'http://evil:1' },
      egress: { port: 3128, socketPath: '/tmp/strata-proc-1/egress/x.sock' },
      scratch: { kind: 'disk', path: '/tmp/strata-scratch/strata-scratch-1-x' },
    });
    expect(argv).toContain('--unshare-net');
    const env = (k: string) => argv[argv.lastIndexOf(k) + 1];
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'])
      expect(env(k)).toBe('http://127.0.0.1:3128');
    expect(env('NODE_USE_ENV_PROXY')).toBe('1');
    // The function's env cannot point the proxy elsewhere.
    expect(argv.filter((a) => a === 'http://evil:1')).toEqual([]);
    const sock = argv.indexOf('/tmp/strata-proc-1/egress/x.sock');
    expect(argv.slice(sock - 1, sock + 2)).toEqual([
      '--ro-bind',
      '/tmp/strata-proc-1/egress/x.sock',
      EGRESS_SOCKET_INSIDE,
    ]);
    const disk = argv.indexOf('/tmp/strata-scratch/strata-scratch-1-x');
    expect(argv.slice(disk - 1, disk + 2)).toEqual(['--bind', '/tmp/strata-scratch/strata-scratch-1-x', '/tmp']);
    expect(argv).not.toContain('--tmpfs');
    const i = argv.indexOf('/opt/node/bin/node');
    expect(argv.slice(i - 1, i + 2)).toEqual(['--ro-bind', '/opt/node/bin/node', NODE_INSIDE]);
    expect(argv.slice(-2)).toEqual([NODE_INSIDE, '/strata/main.mjs']);
  });
});

describe('process outcome', () => {
  const usage = usageOf({ wallMs: 5 });
  const end = { exitCode: 0, signal: null, oomKilled: false, stdout: '', usage };
  it('parses JSON stdout, keeps text otherwise', () => {
    expect(parseResult('{"a":1}\n')).toEqual({ result: { a: 1 }, text: false });
    expect(parseResult('hi\n')).toEqual({ result: 'hi', text: true });
    expect(parseResult('')).toEqual({ result: null, text: false });
  });
  it('maps exits, OOM, limits and aborts, aborts first', () => {
    expect(processOutcome({ ...end, stdout: '[1]' })).toMatchObject({ status: 'succeeded', result: [1] });
    expect(processOutcome({ ...end, exitCode: 2 })).toMatchObject({ status: 'failed', exit: { exitCode: 2 } });
    expect(processOutcome({ ...end, exitCode: 137, oomKilled: true })).toMatchObject({ status: 'memory_exceeded' });
    // Exit 137 without the group's OOM counter is not an OOM.
    expect(processOutcome({ ...end, exitCode: 137 })).toMatchObject({ status: 'failed' });
    expect(
      processOutcome({
        ...end,
        exitCode: 1,
        stoppedFor: { status: 'killed', code: 'limit_exceeded', message: 'pids' },
      }),
    ).toMatchObject({ status: 'killed', error: { code: 'limit_exceeded' } });
    expect(
      processOutcome({
        ...end,
        exitCode: null,
        signal: 'SIGKILL',
        oomKilled: true,
        aborted: { code: 'timeout', message: 't' },
      }),
    ).toMatchObject({ status: 'timeout', exit: { timedOut: true } });
    expect(processOutcome({ ...end, aborted: { code: 'reclaimed', message: 'r' } })).toMatchObject({
      status: 'killed',
      error: { code: 'reclaimed' },
    });
  });

  it('names the cause of death, the limit and the usage at that moment', () => {
    const limits = { timeoutMs: 1000, memoryMb: 64, pids: 32, resultBytes: 4096 };
    const at = usageOf({ wallMs: 3, cpuMs: 2 });
    const d = (e: Partial<Parameters<typeof processOutcome>[0]>) =>
      processOutcome({ ...end, limits, tmpBytes: 8 * 1024 * 1024, maxFileSize: 1024, ...e }).death;
    expect(processOutcome({ ...end, stdout: '1' }).death).toBeUndefined();
    expect(d({ exitCode: 137, oomKilled: true })).toEqual({ cause: 'memory', limit: 64, usage });
    expect(d({ aborted: { code: 'timeout', message: 't' }, stopUsage: at })).toEqual({
      cause: 'time',
      limit: 1000,
      usage: at,
    });
    expect(d({ aborted: { code: 'cancelled', message: 'c' } })).toMatchObject({ cause: 'cancel' });
    expect(d({ aborted: { code: 'reclaimed', message: 'r' } })).toMatchObject({ cause: 'cancel' });
    expect(d({ stoppedFor: { status: 'killed', code: 'limit_exceeded', message: 'p' } })).toMatchObject({
      cause: 'pids',
      limit: 32,
    });
    expect(d({ stoppedFor: { status: 'killed', code: 'result_too_large', message: 'r' } })).toMatchObject({
      cause: 'result',
      limit: 4096,
    });
    expect(d({ exitCode: 1 })).toEqual({ cause: 'error', usage });
    expect(d({ exitCode: 1, scratchFull: true })).toMatchObject({ cause: 'disk', limit: 8 });
    expect(d({ exitCode: 153 })).toMatchObject({ cause: 'disk', limit: 1024 / (1024 * 1024) });
    expect(
      processOutcome({ ...end, exitCode: 1, scratchFull: true, tmpBytes: 8 * 1024 * 1024 }).error?.message,
    ).toMatch(/\/tmp was full \(8 MiB; raise limits.tmpMb\)/);
  });
});
