/**
 * Issue 16 item 1, reproduced against real containers through the real driver: user code tries
 * to write frames onto the host <-> runner protocol (its own stdout, tini's and the runner's
 * /proc/<pid>/fd/1) and onto the runner <-> JS child channel. The worker (this process) must
 * survive every attempt, the attacked invocation must end with the bytes visible only as log
 * text or as killed/protocol_violation (and then the container is gone), and the next
 * invocation must work. A compromised runner writing hostile frames on the real protocol is
 * simulated with a fake runner, to check the host's own end.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dockerClient } from '../../../sandboxes/docker/client.ts';
import type { DockerDriver } from '../../../sandboxes/docker/driver.ts';
import { containerSpec, workerLabels } from '../../../sandboxes/docker/hardening.ts';
import { WarmPool } from '../../../sandboxes/docker/pool.ts';
import type { RunOutcome } from '../../../src/core/execution.ts';
import type { ManifestInput } from '../../../src/core/manifest.ts';
import { describeIf } from '../../support/requirements.ts';
import { SUITE_START_MS } from './daemon-lock.ts';
import {
  artifact,
  dockerRequirement,
  invocation,
  runOptions,
  startSuiteDriver,
  stopSuiteDriver,
  uniqueWorkerId,
} from './helpers.ts';

/** JS helpers every attacking module starts with: raw frames exactly as the runner encodes them. */
const FRAME_JS = `
const fs = process.getBuiltinModule('node:fs');
const frame = (value) => {
  const body = Buffer.from(JSON.stringify(value));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
};
const runnerPid = () => {
  for (const p of fs.readdirSync('/proc').filter((d) => /^\\d+$/.test(d))) {
    try {
      const argv = fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\\0');
      if (argv[0].endsWith('/node') && argv.some((a) => a.endsWith('runner/main.ts'))) return Number(p);
    } catch {}
  }
  return 0;
};
const attempt = (fn) => { try { fn(); return 'ok'; } catch (e) { return e.code ?? String(e); } };
`;

describeIf(dockerRequirement(), 'protocol attacks from inside a warm container', () => {
  const workerId = uniqueWorkerId('attack');
  let driver: DockerDriver;

  beforeAll(async () => {
    driver = await startSuiteDriver({ poolMin: 0 }, workerId);
  }, SUITE_START_MS);
  afterAll(() => stopSuiteDriver(driver, workerId));

  async function run(manifest: Partial<ManifestInput> & { name: string }, input: unknown = {}) {
    const p = await driver.prepare(artifact({ runtime: 'js', trust: 'untrusted', ...manifest } as ManifestInput));
    const r = runOptions({ timeoutMs: 20_000 });
    try {
      const outcome = await driver.run(p, invocation(input), r.options);
      return { outcome, logs: r.logs.text() };
    } finally {
      r.dispose();
    }
  }

  /** The function's containers on the daemon (running or not). */
  const containersOf = (fn: string): string[] =>
    execFileSync(
      'docker',
      [
        'ps',
        '-aq',
        '--no-trunc',
        '--filter',
        `label=io.strata.worker=${workerId}`,
        '--filter',
        `label=io.strata.function=${fn}`,
      ],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter(Boolean);

  const violations = () => (driver.stats() as { protocolViolations: number }).protocolViolations;

  it('JS writing raw frames to its own stdout and stderr: null, numeric log data, a forged result — only log text', async () => {
    const source = `${FRAME_JS}
export default (input, ctx) => {
  fs.writeSync(1, frame(null));
  fs.writeSync(1, frame({ t: 'log', id: ctx.executionId, stream: 'stdout', data: 42 }));
  fs.writeSync(1, frame({ t: 'result', id: ctx.executionId, ok: true, json: '"forged"' }));
  fs.writeSync(2, frame({ t: 'result', id: ctx.executionId, ok: true, json: '"forged-on-stderr"' }));
  const reopen = attempt(() => fs.writeSync(fs.openSync('/proc/self/fd/1', 'w'), frame({ t: 'ready', pid: 1, node: 'x' })));
  return { real: true, reopen };
};`;
    const before = violations();
    const attacked = await run({ name: 'raw-stdout', source });
    // Its stdout is a socket to the runner: it cannot be reopened as anything else.
    expect(attacked.outcome).toMatchObject({ status: 'succeeded', result: { real: true, reopen: 'ENXIO' } });
    expect(attacked.logs).toContain('"json":"\\"forged\\""');
    expect(attacked.logs).toContain('"data":42');
    expect(attacked.logs).toContain('forged-on-stderr');
    expect(violations()).toBe(before);
    const next = await run({ name: 'raw-stdout', source });
    expect(next.outcome).toMatchObject({ status: 'succeeded', result: { real: true } });
  });

  it('JS cannot open, signal or read the fds of tini (PID 1) or the runner', async () => {
    const source = `${FRAME_JS}
export default () => {
  const pid = runnerPid();
  return {
    runnerPid: pid,
    uid: process.getuid(),
    tiniFd1: attempt(() => fs.writeSync(fs.openSync('/proc/1/fd/1', 'w'), frame(null))),
    runnerFd1: attempt(() => fs.writeSync(fs.openSync('/proc/' + pid + '/fd/1', 'w'), frame(null))),
    runnerFds: attempt(() => fs.readdirSync('/proc/' + pid + '/fd')),
    runnerMem: attempt(() => fs.openSync('/proc/' + pid + '/mem', 'r')),
    killRunner: attempt(() => process.kill(pid, 0)),
    killTini: attempt(() => process.kill(1, 0)),
  };
};`;
    const { outcome } = await run({ name: 'proc-fds', source });
    expect(outcome.status).toBe('succeeded');
    const r = outcome.result as Record<string, unknown>;
    expect(r.runnerPid).toBeGreaterThan(1);
    expect(r.uid).toBe(65534);
    expect(r).toMatchObject({
      tiniFd1: 'EACCES',
      runnerFd1: 'EACCES',
      runnerFds: 'EACCES',
      runnerMem: 'EACCES',
      killRunner: 'EPERM',
      killTini: 'EPERM',
    });
  });

  const channelAttacks: [string, string][] = [
    ['a null frame', 'fs.writeSync(4, frame(null));'],
    [
      'a log frame with numeric data',
      "fs.writeSync(4, frame({ t: 'log', id: ctx.executionId, stream: 'stdout', data: 42 }));",
    ],
    [
      'a result for another invocation',
      "fs.writeSync(4, frame({ t: 'result', id: 'someone-else', ok: true, json: '1', late: 0, fenced: [false, false] }));",
    ],
    ['bytes that are not a frame', "fs.writeSync(4, 'hello, runner');"],
  ];
  for (const [what, attack] of channelAttacks) {
    it(`JS writing ${what} to the JS child's channel ends killed/protocol_violation and loses the container`, async () => {
      const name = `chan-${what.replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '')}`.slice(0, 60);
      const source = `${FRAME_JS}
export default async (input, ctx) => {
  if (input.attack) { ${attack} await new Promise((r) => setTimeout(r, 5000)); }
  return 'fine';
};`;
      const warm = await run({ name, source }, { attack: false });
      expect(warm.outcome.status).toBe('succeeded');
      const [attackedContainer] = containersOf(name);
      expect(attackedContainer).toBeDefined();
      const before = violations();
      const { outcome } = await run({ name, source }, { attack: true });
      expect(outcome).toMatchObject({
        status: 'killed',
        error: { code: 'protocol_violation' },
        death: { cause: 'protocol' },
      });
      expect(violations()).toBe(before + 1);
      expect(containersOf(name)).not.toContain(attackedContainer);
      const next = await run({ name, source }, { attack: false });
      expect(next.outcome).toMatchObject({ status: 'succeeded', result: 'fine' });
    });
  }

  it('a bash script cannot write a frame to /proc/1/fd/1 or /proc/<runner>/fd/1', async () => {
    const source = readFileSync(join(import.meta.dirname, 'fixtures', 'proc-fd1.sh'), 'utf8');
    const p = await driver.prepare(
      artifact({ name: 'bash-proc', runtime: 'script', interpreter: 'bash', trust: 'untrusted', source }),
    );
    const before = violations();
    const outcomes: RunOutcome[] = [];
    for (let i = 0; i < 2; i++) {
      const r = runOptions({ timeoutMs: 20_000 });
      outcomes.push(await driver.run(p, invocation({}), r.options));
      r.dispose();
    }
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('succeeded');
      const r = outcome.result as { runner: number; tini: string; runnerErr: string };
      expect(r.runner).toBeGreaterThan(1);
      expect(r.tini).toBe('Permission denied');
      expect(r.runnerErr).toBe('Permission denied');
    }
    expect(violations()).toBe(before);
  });
});

describeIf(dockerRequirement(), 'a compromised runner writing hostile frames on the real protocol', () => {
  const workerId = uniqueWorkerId('badrunner');
  let driver: DockerDriver;
  let pool: WarmPool;

  // A fake runner (python in the script image): says ready, reads one run frame, answers CASE.
  const FAKE_RUNNER = `
import json, os, signal, struct, sys
inp, out = sys.stdin.buffer, sys.stdout.buffer
def frame(body): return struct.pack('>I', len(body)) + body
def send(b): out.write(b); out.flush()
# SIGUSR1 (sent by the test with docker exec) makes it spew garbage while idle.
signal.signal(signal.SIGUSR1, lambda *a: send(b'garbage while idle'))
send(frame(json.dumps({'t': 'ready', 'pid': os.getpid(), 'node': 'fake'}).encode()))
case = os.environ['CASE']
if case != 'idle-garbage':
    n = struct.unpack('>I', inp.read(4))[0]
    rid = json.loads(inp.read(n))['id']
    answers = {
        'null': frame(b'null'),
        'numeric-log': frame(json.dumps({'t': 'log', 'id': rid, 'stream': 'stdout', 'data': 42}).encode()),
        'foreign-result': frame(json.dumps({'t': 'result', 'id': 'not-' + rid, 'ok': True, 'json': '1'}).encode()),
        'bad-types': frame(json.dumps({'t': 'result', 'id': rid, 'ok': 'yes'}).encode()),
        'second-ready': frame(json.dumps({'t': 'ready', 'pid': 9, 'node': 'x'}).encode()),
        'pong': frame(json.dumps({'t': 'pong', 'id': rid, 'rssBytes': 1}).encode()),
        'huge': b'\\xff\\xff\\xff\\xff' + b'x' * 100,
        'not-json': frame(b'{"t": "log", "id"'),
    }
    send(answers[case])
inp.read()
`;

  beforeAll(async () => {
    driver = await startSuiteDriver({ poolMin: 0 }, workerId);
    let n = 0;
    pool = new WarmPool(
      dockerClient(),
      { poolMin: 0, poolMaxPerKey: 4, poolMax: 16, idleTimeoutMs: 60_000, keyTtlMs: 60_000, startTimeoutMs: 20_000 },
      () => `strata-${workerId}-warm-fake${n++}`,
      1024 * 1024,
    );
  }, SUITE_START_MS);
  afterAll(async () => {
    await pool?.close();
    await stopSuiteDriver(driver, workerId);
  });

  const specFor = (kase: string) => async (name: string) => ({
    spec: containerSpec({
      name,
      image: driver.runnerImages().script as string,
      cmd: ['/usr/bin/python3', '-c', FAKE_RUNNER],
      env: { CASE: kase },
      limits: {
        timeoutMs: 10_000,
        memoryMb: 64,
        logBytes: 1024,
        resultBytes: 1024,
        pids: 32,
        tmpMb: 8,
        errorBytes: 16384,
      },
      labels: workerLabels(workerId, 'warm'),
      stdinOnce: false,
      facts: { cpuCount: 1, ioWeight: false },
      defaults: { cpu: 1, nofile: 64, nproc: 4096 },
    }),
  });

  const run = (id: string) => ({
    t: 'run' as const,
    id,
    kind: 'js' as const,
    digest: 'd',
    functionName: 'f',
    functionVersion: 1,
    deadline: Date.now() + 10_000,
    input: '{}',
    env: {},
    maxResultBytes: 1024,
  });

  for (const kase of [
    'null',
    'numeric-log',
    'foreign-result',
    'bad-types',
    'second-ready',
    'pong',
    'huge',
    'not-json',
  ]) {
    it(`${kase}: the invocation ends as a protocol violation and the container is destroyed`, async () => {
      const { container } = await pool.acquire(`k-${kase}`, specFor(kase), new AbortController().signal);
      const logs: string[] = [];
      const end = await container.invoke(run(`inv-${kase}`), (_s, text) => logs.push(text));
      expect(end.kind).toBe('protocol');
      expect(container.violation).toEqual(expect.any(String));
      expect(container.state).toBe('dead');
      expect(logs).toEqual([]);
      await container.destroy();
      await pool.release(container, false);
      expect(
        execFileSync('docker', ['ps', '-aq', '--filter', `name=${container.name}`], { encoding: 'utf8' }).trim(),
      ).toBe('');
    });
  }

  it('garbage while idle drops the container from the pool at once', async () => {
    const { container } = await pool.acquire('k-idle', specFor('idle-garbage'), new AbortController().signal);
    await pool.release(container, true);
    expect(pool.names()).toContain(container.name);
    execFileSync('docker', ['exec', container.id, '/bin/sh', '-c', 'kill -USR1 1']);
    for (let i = 0; i < 200 && (pool.stats().containers > 0 || container.state !== 'dead'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(container.state).toBe('dead');
    expect(container.violation).toMatch(/exceeds|schema|malformed/);
    expect(pool.names()).not.toContain(container.name);
  });
});
