import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { StrataError } from '../../../src/core/errors.ts';
import { describeIf } from '../../support/requirements.ts';
import {
  groupGone,
  itIf,
  processTierRequirement,
  pythonRequirement,
  runScript,
  sandboxProcessesLeft,
  startTier,
  stopTier,
  type Tier,
} from './support.ts';

describeIf(processTierRequirement(), 'process tier: scripts', () => {
  let tier: Tier;
  beforeAll(async () => {
    tier = await startTier('drv');
  });
  afterAll(async () => stopTier(tier));
  afterEach(() => {
    expect(sandboxProcessesLeft(tier)).toEqual([]);
  });

  it('reports health with the cgroup version', () => {
    const h = tier.driver.health();
    expect(h.available).toBe(true);
    expect(h.details).toMatchObject({ cgroupMode: 'v1', interpreters: { bash: true, sh: true, node: true } });
  });

  it('runs bash: input on stdin, JSON result on stdout, stderr into logs, usage measured', async () => {
    const r = await runScript(
      tier,
      { interpreter: 'bash', source: 'read -r x; echo "{\\"got\\": $x}"; echo to-logs >&2' },
      41,
    );
    expect(r.outcome.status).toBe('succeeded');
    expect(r.outcome.result).toEqual({ got: 41 });
    expect(r.logs).toBe('to-logs\n');
    expect(r.outcome.usage.measured).toEqual(expect.arrayContaining(['wallMs', 'cpuMs', 'memoryPeakBytes']));
    expect(r.outcome.usage.memoryPeakBytes).toBeGreaterThan(0);
    expect(groupGone(r.groupDirs)).toBe(true);
    // A process-tier run always starts fresh; initMs is the sandbox set-up before the script ran.
    expect(r.outcome.start).toEqual({ kind: 'fresh', initMs: expect.any(Number) });
    expect(r.outcome.start?.initMs).toBeGreaterThan(0);
    expect(r.outcome.death).toBeUndefined();
  });

  it('measures network bytes of its own namespace while it runs (none can leave)', async () => {
    const r = await runScript(tier, { interpreter: 'sh', source: 'sleep 0.4; echo ok' });
    expect(r.outcome.status).toBe('succeeded');
    expect(r.outcome.usage.measured).toEqual(expect.arrayContaining(['netRxBytes', 'netTxBytes']));
    expect(r.outcome.usage).toMatchObject({ netRxBytes: 0, netTxBytes: 0 });
  });

  it('keeps a non-JSON result as text and runs sh', async () => {
    const r = await runScript(tier, { interpreter: 'sh', source: 'echo hello world' });
    expect(r.outcome).toMatchObject({ status: 'succeeded', result: 'hello world', resultIsText: true });
  });

  it('runs node with the worker binary', async () => {
    const source = `let s='';for await (const c of process.stdin) s+=c; const v=JSON.parse(s); console.log(JSON.stringify({sum: v.a+v.b, node: process.version}));`;
    const r = await runScript(tier, { interpreter: 'node', source }, { a: 2, b: 3 }, { memoryMb: 256 });
    expect(r.outcome.status).toBe('succeeded');
    expect(r.outcome.result).toEqual({ sum: 5, node: process.version });
  });

  itIf(pythonRequirement(), 'runs python3', async () => {
    const source = 'import json,sys\nv=json.load(sys.stdin)\nprint(json.dumps({"n": len(v)}))';
    const r = await runScript(tier, { interpreter: 'python3', source }, [1, 2, 3]);
    expect(r.outcome).toMatchObject({ status: 'succeeded', result: { n: 3 } });
  });

  it('a non-zero exit is failed with the exit code', async () => {
    const r = await runScript(tier, { interpreter: 'bash', source: 'echo oops >&2; exit 3' });
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.error?.code).toBe('function_error');
    expect(r.outcome.exit?.exitCode).toBe(3);
    expect(r.outcome.death).toMatchObject({ cause: 'error', usage: { wallMs: expect.any(Number) } });
    expect(r.logs).toContain('oops');
    expect(groupGone(r.groupDirs)).toBe(true);
  });

  it('cancel stops the script with status killed', async () => {
    // Cancelled once it runs (not after a fixed delay: a busy machine may not have started it yet).
    const ac = new AbortController();
    const cancel = () => ac.abort(new StrataError('cancelled', 'cancelled by the client'));
    const r = await runScript(
      tier,
      { interpreter: 'bash', source: 'sleep 30' },
      null,
      { timeoutMs: 60_000 },
      ac,
      cancel,
    );
    expect(r.outcome).toMatchObject({ status: 'killed', error: { code: 'cancelled' }, death: { cause: 'cancel' } });
    expect(r.groupDirs.length).toBeGreaterThan(0);
    // Ended by the cancel, long before the script's own 30 s or the deadline.
    expect(r.outcome.usage.wallMs).toBeLessThan(30_000);
    // A cancelled group's last processes may still be exiting when the outcome is out (its rmdir is
    // retried until they are gone): poll the kernel's state, which has no event to wait on.
    const until = Date.now() + 15_000;
    while (!groupGone(r.groupDirs) && Date.now() < until) await new Promise((done) => setTimeout(done, 50));
    expect(groupGone(r.groupDirs)).toBe(true);
  });

  it('pauses and resumes through the freezer', async () => {
    const ac = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const run = runScript(
      tier,
      { interpreter: 'bash', source: 'while :; do :; done' },
      null,
      { timeoutMs: 120_000 },
      ac,
      () => started(),
    );
    await running;
    const [id, group] = [...tier.driver.running().entries()][0] as [string, { usage(): { cpuMs?: number } }];
    const cpu = () => group.usage().cpuMs as number;
    /** Until the group has used `ms` more CPU than at `from` (a busy machine only makes it slower). */
    const cpuGrows = async (from: number, ms: number) => {
      while (cpu() - from <= ms) await new Promise((r) => setTimeout(r, 20));
    };
    await cpuGrows(0, 10);
    await tier.driver.pause(id);
    const a = cpu();
    // Frozen: no CPU at all over a stretch in which the loop would otherwise have run.
    await new Promise((r) => setTimeout(r, 300));
    const b = cpu();
    expect(b - a).toBeLessThan(10);
    await tier.driver.resume(id);
    await cpuGrows(b, 50);
    ac.abort(new StrataError('cancelled', 'test over'));
    const r = await run;
    expect(r.outcome.status).toBe('killed');
    expect(groupGone(r.groupDirs)).toBe(true);
  });
});
