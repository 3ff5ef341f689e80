import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerDriver, type DockerDriver } from '../../../sandboxes/docker/driver.ts';
import { describeIf } from '../../support/requirements.ts';
import { SUITE_START_MS } from './daemon-lock.ts';
import {
  artifact,
  dockerRequirement,
  dockerSettings,
  invocation,
  labelledContainers,
  runOptions,
  startSuiteDriver,
  stopSuiteDriver,
  uniqueWorkerId,
} from './helpers.ts';

describe('docker driver without a daemon', () => {
  it('reports itself unavailable with the reason and refuses to prepare', async () => {
    const driver = createDockerDriver({
      settings: dockerSettings({ socketPath: '/nonexistent/docker.sock' }),
      workerId: 'nodaemon',
    });
    await driver.start();
    const health = driver.health();
    expect(health.available).toBe(false);
    expect(health.reason).toMatch(/docker daemon not reachable at \/nonexistent\/docker.sock/);
    await expect(
      driver.prepare(artifact({ name: 'x', runtime: 'js', source: 'export default () => 1' })),
    ).rejects.toMatchObject({
      code: 'tier_unavailable',
    });
    await driver.dispose();
    await driver.dispose();
  });
});

describe('docker driver switched off', () => {
  it('says it is disabled and never touches the daemon', async () => {
    const driver = createDockerDriver({ settings: dockerSettings({ enabled: false }), workerId: 'off' });
    await driver.start();
    expect(driver.health()).toMatchObject({ available: false, reason: expect.stringMatching(/disabled/) });
    await driver.dispose();
  });
});

describeIf(dockerRequirement(), 'docker driver', () => {
  const workerId = uniqueWorkerId('drv');
  let driver: DockerDriver;

  beforeAll(async () => {
    driver = await startSuiteDriver({ poolMin: 1, poolMaxPerKey: 2 }, workerId);
  }, SUITE_START_MS);
  afterAll(() => stopSuiteDriver(driver, workerId));

  it('is healthy and names its runner images', () => {
    const health = driver.health();
    expect(health.available).toBe(true);
    expect(driver.runnerImages().js).toMatch(/^strata-runner-js:[0-9a-f]{12}$/);
    expect(driver.runnerImages().script).toMatch(/^strata-runner-script:[0-9a-f]{12}$/);
  });

  it('runs JS in a warm container: result, console logs, cgroup usage, container reused', async () => {
    const p = await driver.prepare(
      artifact({
        name: 'js-ok',
        runtime: 'js',
        trust: 'untrusted',
        source:
          'export default async (i, ctx) => { console.log("hi", i.n); return { n: i.n * 2, fn: ctx.function.name }; }',
      }),
    );
    const outcomes = [];
    for (const n of [1, 2, 3]) {
      const r = runOptions();
      outcomes.push({ o: await driver.run(p, invocation({ n }), r.options), logs: r.logs.text() });
      r.dispose();
    }
    expect(outcomes.map((x) => x.o.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(outcomes.map((x) => x.o.result)).toEqual([
      { n: 2, fn: 'js-ok' },
      { n: 4, fn: 'js-ok' },
      { n: 6, fn: 'js-ok' },
    ]);
    expect(outcomes[2]?.logs).toBe('hi 3\n');
    const usage = outcomes[0]?.o.usage;
    expect(usage?.measured).toEqual(expect.arrayContaining(['wallMs', 'cpuMs', 'memoryPeakBytes']));
    expect(usage?.memoryPeakBytes).toBeGreaterThan(1024 * 1024);
    const stats = driver.stats() as { boots: number };
    expect(stats.boots).toBe(1);
  });

  it('reports a thrown error as failed with the message, and keeps the container', async () => {
    const p = await driver.prepare(
      artifact({
        name: 'js-throw',
        runtime: 'js',
        trust: 'untrusted',
        source: 'export default () => { throw new TypeError("bad input") }',
      }),
    );
    const r = runOptions();
    const o = await driver.run(p, invocation({}), r.options);
    r.dispose();
    expect(o.status).toBe('failed');
    expect(o.error).toEqual({ code: 'function_error', message: 'TypeError: bad input' });
    expect(r.logs.text()).toContain('TypeError: bad input');
  });

  it('never shares a container between two untrusted functions', async () => {
    const src =
      'export default () => { globalThis.seen = (globalThis.seen ?? 0) + 1; return { seen: globalThis.seen, host: process.env.HOSTNAME ?? "" }; }';
    const a = await driver.prepare(artifact({ name: 'iso-a', runtime: 'js', trust: 'untrusted', source: src }));
    const b = await driver.prepare(
      artifact({ name: 'iso-b', runtime: 'js', trust: 'untrusted', source: `${src}\n// b` }),
    );
    const run = async (p: typeof a) => {
      const r = runOptions();
      const o = await driver.run(p, invocation({}), r.options);
      r.dispose();
      return o.result as { seen: number };
    };
    expect((await run(a)).seen).toBe(1);
    expect((await run(a)).seen).toBe(2);
    // Function b gets a fresh container: nothing function a left in memory is visible.
    expect((await run(b)).seen).toBe(1);
    const containers = execFileSync(
      'docker',
      ['ps', '-q', '--filter', `label=io.strata.worker=${workerId}`, '--filter', 'label=io.strata.function=iso-b'],
      {
        encoding: 'utf8',
      },
    );
    expect(containers.trim().split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('runs bash and python3 scripts: stdin input, stdout result (JSON or text), stderr logs, exit codes', async () => {
    const py = await driver.prepare(
      artifact({
        name: 'py',
        runtime: 'script',
        interpreter: 'python3',
        trust: 'untrusted',
        source:
          'import sys, json\nd = json.load(sys.stdin)\nprint("to log", file=sys.stderr)\nprint(json.dumps({"sum": d["a"] + d["b"]}))\n',
      }),
    );
    const sh = await driver.prepare(
      artifact({
        name: 'sh',
        runtime: 'script',
        interpreter: 'bash',
        trust: 'untrusted',
        source: 'read line; echo "got $line"',
      }),
    );
    const bad = await driver.prepare(
      artifact({
        name: 'sh-bad',
        runtime: 'script',
        interpreter: 'sh',
        trust: 'untrusted',
        source: 'echo oops >&2; exit 3',
      }),
    );
    let r = runOptions();
    const o1 = await driver.run(py, invocation({ a: 2, b: 40 }), r.options);
    expect(o1.status).toBe('succeeded');
    expect(o1.result).toEqual({ sum: 42 });
    expect(r.logs.text()).toBe('to log\n');
    r.dispose();
    r = runOptions();
    const o2 = await driver.run(sh, invocation('x'), r.options);
    expect(o2).toMatchObject({ status: 'succeeded', result: 'got "x"', resultIsText: true });
    r.dispose();
    r = runOptions();
    const o3 = await driver.run(bad, invocation({}), r.options);
    expect(o3).toMatchObject({ status: 'failed', error: { code: 'function_error' }, exit: { exitCode: 3 } });
    expect(r.logs.text()).toBe('oops\n');
    r.dispose();
  });

  it('runs a custom image on the cold path and removes the container', async () => {
    const image = driver.runnerImages().script as string;
    const p = await driver.prepare(
      artifact({ name: 'cold', runtime: 'container', image, command: ['/bin/sh', '-c', 'echo note >&2; cat; echo'] }),
    );
    const r = runOptions();
    const o = await driver.run(p, invocation({ hello: 'world' }), r.options);
    r.dispose();
    expect(o.status).toBe('succeeded');
    expect(o.result).toEqual({ hello: 'world' });
    expect(r.logs.text()).toBe('note\n');
    const failing = await driver.prepare(
      artifact({ name: 'cold-fail', runtime: 'container', image, command: ['/bin/sh', '-c', 'exit 7'] }),
    );
    const r2 = runOptions();
    const o2 = await driver.run(failing, invocation({}), r2.options);
    r2.dispose();
    expect(o2).toMatchObject({ status: 'failed', exit: { exitCode: 7 } });
    const cold = execFileSync(
      'docker',
      ['ps', '-aq', '--filter', `label=io.strata.worker=${workerId}`, '--filter', 'label=io.strata.role=cold'],
      { encoding: 'utf8' },
    );
    expect(cold.trim()).toBe('');
  });

  it('refuses an image that is not on the daemon at prepare, without pulling', async () => {
    await expect(
      driver.prepare(artifact({ name: 'nope', runtime: 'container', image: 'strata-no-such-image:1' })),
    ).rejects.toMatchObject({
      code: 'invalid_manifest',
      message: expect.stringMatching(/not on the Docker daemon.*never pulls/),
    });
  });

  it('declares an allow-list network (egress through the proxy) and own processes; an empty list grants nothing', async () => {
    expect(driver.capabilities).toMatchObject({ network: 'allowlist', ownProcesses: true });
    // An entry no tier could enforce (a zone id names an interface of whichever host runs it).
    await expect(
      driver.prepare(
        artifact({
          name: 'bad-net',
          runtime: 'js',
          trust: 'untrusted',
          source: 'export default () => 1',
          permissions: { network: { allow: ['fe80::1%eth0'] } },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'permission_denied',
      message: expect.stringContaining('permissions.network cannot be enforced'),
    });
    const none = await driver.prepare(
      artifact({
        name: 'no-net',
        runtime: 'js',
        trust: 'untrusted',
        source: 'export default () => 1',
        permissions: { network: [] },
      }),
    );
    expect(none).toMatchObject({ path: 'warm', grant: { kind: 'none' } });
    expect(none.env).not.toHaveProperty('HTTP_PROXY');
  });

  it('collects a large script result completely, even with a background job holding stdout', async () => {
    const p = await driver.prepare(
      artifact({
        name: 'big-out',
        runtime: 'script',
        interpreter: 'bash',
        trust: 'untrusted',
        source: '(sleep 60 &) ; head -c 3000000 /dev/zero | tr "\\0" a',
      }),
    );
    const r = runOptions({ resultBytes: 4 * 1024 * 1024, timeoutMs: 20_000 });
    const o = await driver.run(p, invocation({}), r.options);
    r.dispose();
    expect(o.status).toBe('succeeded');
    expect((o.result as string).length).toBe(3_000_000);
  });

  it('kills the container on timeout and replaces it', async () => {
    const p = await driver.prepare(
      artifact({
        name: 'js-hang',
        runtime: 'js',
        trust: 'untrusted',
        source: 'export default () => new Promise(() => {})',
      }),
    );
    const r = runOptions({ timeoutMs: 1500 });
    const o = await driver.run(p, invocation({}), r.options);
    r.dispose();
    expect(o.status).toBe('timeout');
    expect(o.error?.code).toBe('timeout');
    expect(o.exit?.timedOut).toBe(true);
    const cancel = runOptions({ timeoutMs: 30_000 });
    setTimeout(() => cancel.controller.abort(new Error('no code')), 300);
    const o2 = await driver.run(p, invocation({}), cancel.options);
    cancel.dispose();
    expect(o2.status).toBe('killed');
    expect(o2.error?.code).toBe('cancelled');
  });

  it('runs concurrent invocations of one function on at most poolMaxPerKey containers', async () => {
    const p = await driver.prepare(
      artifact({
        name: 'js-conc',
        runtime: 'js',
        trust: 'untrusted',
        source: 'export default async (i) => { await new Promise((r) => setTimeout(r, 200)); return i.k; }',
      }),
    );
    const runs = [0, 1, 2, 3, 4].map(async (k) => {
      const r = runOptions();
      const o = await driver.run(p, invocation({ k }), r.options);
      r.dispose();
      return o;
    });
    const outcomes = await Promise.all(runs);
    expect(outcomes.map((o) => o.result)).toEqual([0, 1, 2, 3, 4]);
    const mine = execFileSync(
      'docker',
      ['ps', '-q', '--filter', `label=io.strata.worker=${workerId}`, '--filter', 'label=io.strata.function=js-conc'],
      {
        encoding: 'utf8',
      },
    );
    expect(mine.trim().split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
  });

  it('pauses and resumes a running invocation', async () => {
    const p = await driver.prepare(
      artifact({
        name: 'js-pause',
        runtime: 'js',
        trust: 'untrusted',
        source: 'export default async () => { await new Promise((r) => setTimeout(r, 300)); return "resumed"; }',
      }),
    );
    const warm = runOptions();
    await driver.run(p, invocation({}), warm.options);
    warm.dispose();
    const inv = invocation({});
    const r = runOptions();
    const pending = driver.run(p, inv, r.options);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await driver.pause?.(inv.id);
    const paused = execFileSync(
      'docker',
      ['ps', '-q', '--filter', `label=io.strata.worker=${workerId}`, '--filter', 'status=paused'],
      { encoding: 'utf8' },
    );
    expect(paused.trim()).not.toBe('');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await driver.resume?.(inv.id);
    const o = await pending;
    r.dispose();
    expect(o.status).toBe('succeeded');
    expect(o.result).toBe('resumed');
    expect(o.usage.wallMs).toBeGreaterThanOrEqual(600);
  });

  it('reaps containers with its label that nothing owns, and leaves other workers alone', async () => {
    const image = driver.runnerImages().js as string;
    const mine = execFileSync(
      'docker',
      ['create', '--network', 'none', '--label', `io.strata.worker=${workerId}`, image],
      { encoding: 'utf8' },
    ).trim();
    const other = execFileSync(
      'docker',
      ['create', '--network', 'none', '--label', `io.strata.worker=${workerId}-other`, image],
      { encoding: 'utf8' },
    ).trim();
    try {
      const before = labelledContainers(workerId);
      expect(before).toContain(mine.slice(0, 12));
      const removed = await driver.reap();
      expect(removed).toBeGreaterThanOrEqual(1);
      const after = labelledContainers(workerId);
      expect(after).not.toContain(mine.slice(0, 12));
      expect(labelledContainers(`${workerId}-other`)).toEqual([other.slice(0, 12)]);
      // The warm containers the pool holds are owned, so they survive the sweep.
      expect(after.length).toBe((driver.stats() as { containers: number }).containers);
    } finally {
      execFileSync('docker', ['rm', '-f', mine, other], { stdio: 'ignore' });
    }
  });
});
