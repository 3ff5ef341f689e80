import { describe, expect, it } from 'vitest';
import { NODE_INSIDE, sandboxArgv } from '../../../sandboxes/process/command.ts';
import { parseResult, processOutcome } from '../../../sandboxes/process/outcome.ts';
import { usageOf } from '../../../src/core/execution.ts';

const base = {
  bwrap: 'bwrap',
  uid: 65534,
  gid: 65534,
  interpreter: 'bash' as const,
  interpreterPath: '/bin/bash',
  scriptPath: '/tmp/strata-proc-1/abc-main.sh',
  readOnlyPaths: ['/usr/bin', '/usr/lib'],
  network: false,
  tmpBytes: 1024,
  nofile: 64,
  maxFileSize: 2048,
  env: { FOO: 'bar' },
  cgroupBinds: [['/sys/fs/cgroup/memory/strata/strata-sbx-1', '/sys/fs/cgroup/memory']] as const,
};

describe('sandbox command line', () => {
  it('joins the cgroup first, then rlimits, then drops uid, then bwrap', () => {
    const argv = sandboxArgv(base);
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[2]).toContain('$STRATA_CGROUP_PROCS');
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
    expect(argv.slice(-3)).toEqual(['--', '/bin/bash', '/strata/main.sh']);
    const env = at('FOO');
    expect(argv[env - 1]).toBe('--setenv');
    expect(argv[env + 1]).toBe('bar');
  });

  it('shares the network only when permitted, and binds node read-only', () => {
    const argv = sandboxArgv({ ...base, network: true, interpreter: 'node', interpreterPath: '/opt/node/bin/node' });
    expect(argv).not.toContain('--unshare-net');
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
});
