/**
 * One invocation through the warm pool: acquire a resident-runner container, send the
 * invocation frame, wait for the result, a death or the executor's signal. A timeout or cancel
 * kills the container; OOM comes from the cgroup's OOM counter or State.OOMKilled (re-inspected
 * briefly after exit), never from an exit code alone. Any of these retires the container.
 */
import type { Invocation, RunOptions } from '../../src/core/driver.ts';
import type { RunOutcome, Usage } from '../../src/core/execution.ts';
import { usageOf } from '../../src/core/execution.ts';
import { errorText, isDaemonDown, type TierContext } from './context.ts';
import { containerSpec, LABEL_FUNCTION, workerLabels } from './hardening.ts';
import { abortedOutcome, crashed, failed, memoryExceeded, resultFromStdout } from './outcome.ts';
import { poolKey } from './pool-policy.ts';
import type { WarmPrepared } from './prepared.ts';
import { INIT_IN_IMAGE, NODE_IN_IMAGE, RUNNER_ENTRY } from './rootfs-plan.ts';
import type { RunMessage } from './runner/protocol.ts';
import { UsageMeter } from './usage-meter.ts';
import type { WarmContainer } from './warm-container.ts';

/** Inspect a dead container for the kernel's OOM verdict, giving the daemon's event a moment to land. */
export async function inspectOom(
  ctx: TierContext,
  id: string,
): Promise<{ oomKilled: boolean; exitCode?: number } | undefined> {
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const info = await ctx.docker.getContainer(id).inspect();
      if (info.State.OOMKilled) return { oomKilled: true, exitCode: info.State.ExitCode };
      if (!info.State.Running && attempt >= 2) return { oomKilled: false, exitCode: info.State.ExitCode };
    } catch {
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { oomKilled: false };
}

function runnerCmd(memoryMb: number): string[] {
  // V8's heap limit above the cgroup limit: the kernel OOM killer (which we can see) acts first.
  return [
    INIT_IN_IMAGE,
    '--',
    NODE_IN_IMAGE,
    '--no-warnings',
    `--max-old-space-size=${Math.max(16, memoryMb * 2)}`,
    RUNNER_ENTRY,
  ];
}

export function unavailableOutcome(reason: string, usage: Usage): RunOutcome {
  return { status: 'killed', error: { code: 'tier_unavailable', message: reason }, usage };
}

export async function runWarm(
  ctx: TierContext,
  p: WarmPrepared,
  invocation: Invocation,
  options: RunOptions,
): Promise<RunOutcome> {
  const { limits, signal } = options;
  const t0 = Date.now();
  const key = poolKey(p.image, limits, p.isolate ? p.digest : undefined);
  const specFor = (name: string) =>
    containerSpec({
      name,
      image: p.image,
      cmd: runnerCmd(limits.memoryMb),
      limits,
      labels: workerLabels(ctx.workerId, 'warm', p.isolate ? { [LABEL_FUNCTION]: p.functionName } : {}),
      stdinOnce: false,
      facts: ctx.facts,
      defaults: ctx.defaults,
    });
  let c: WarmContainer;
  try {
    c = await ctx.pool.acquire(key, specFor, signal);
  } catch (error) {
    if (signal.aborted) return abortedOutcome(signal, usageOf({ wallMs: Date.now() - t0 }));
    const usage = usageOf({ wallMs: Date.now() - t0 });
    if (isDaemonDown(error))
      return unavailableOutcome(`the Docker daemon is not reachable: ${errorText(error)}`, usage);
    return crashed(`a warm container could not start: ${errorText(error)}`, usage);
  }
  ctx.running.set(invocation.id, c.id);
  try {
    return await invokeIn(ctx, c, p, invocation, options);
  } finally {
    ctx.running.delete(invocation.id);
  }
}

async function invokeIn(
  ctx: TierContext,
  c: WarmContainer,
  p: WarmPrepared,
  invocation: Invocation,
  options: RunOptions,
): Promise<RunOutcome> {
  const { limits, signal, logs } = options;
  options.onStart?.();
  const meter = new UsageMeter(c.cgroup);
  meter.begin(c.invocations === 0);
  const started = Date.now();
  const message: RunMessage = {
    t: 'run',
    id: invocation.id,
    kind: p.kind,
    digest: p.digest,
    functionName: p.functionName,
    ...(c.loaded.has(p.digest) ? {} : { source: p.source }),
    ...(p.interpreter ? { interpreter: p.interpreter } : {}),
    input: invocation.inputJson,
    env: p.env,
    maxResultBytes: limits.resultBytes,
  };
  c.loaded.add(p.digest);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const end = await Promise.race([c.invoke(message, (_stream, text) => logs.write(text)), aborted]);
  if (onAbort) signal.removeEventListener('abort', onAbort);
  const wallMs = () => Date.now() - started;

  if (end === 'aborted') {
    meter.read();
    const usage = meter.end(wallMs(), false);
    await ctx.pool.release(c, false);
    return abortedOutcome(signal, usage);
  }
  if (end.kind === 'died' || end.kind === 'protocol') {
    const usage = meter.end(wallMs(), false);
    const cgroupOom = (meter.oomKillsSinceBegin() ?? 0) > 0;
    const verdict = await inspectOom(ctx, c.id);
    await ctx.pool.release(c, false);
    if (cgroupOom || verdict?.oomKilled) return memoryExceeded(limits.memoryMb, usage, { exitCode: verdict?.exitCode });
    if (!verdict) {
      const down = await ctx.docker.ping().then(
        () => false,
        () => true,
      );
      if (down) return unavailableOutcome('the Docker daemon went away while the function ran', usage);
    }
    const reason = end.kind === 'protocol' ? end.reason : c.deathReason || end.reason;
    return crashed(reason, usage, verdict?.exitCode !== undefined ? { exitCode: verdict.exitCode } : undefined);
  }
  if (end.kind === 'pong') return crashed('the runner answered out of turn', meter.end(wallMs()));

  const usage = meter.end(wallMs());
  const result = end.message;
  // A script's child can be OOM-killed while the runner lives: the cgroup counter tells.
  if ((meter.oomKillsSinceBegin() ?? 0) > 0) {
    await ctx.pool.release(c, false);
    return memoryExceeded(
      limits.memoryMb,
      usage,
      result.ok ? undefined : { exitCode: result.exitCode, signal: result.signal },
    );
  }
  await ctx.pool.release(c, true);
  if (!result.ok) {
    const exit =
      result.exitCode !== undefined || result.signal ? { exitCode: result.exitCode, signal: result.signal } : undefined;
    return failed({ code: result.code, message: result.message }, usage, exit);
  }
  if (result.json !== undefined) {
    if (Buffer.byteLength(result.json) > limits.resultBytes) {
      return failed(
        { code: 'result_too_large', message: `the result is larger than ${limits.resultBytes} bytes of JSON` },
        usage,
      );
    }
    return { status: 'succeeded', result: JSON.parse(result.json) as unknown, usage, exit: { exitCode: 0 } };
  }
  return { status: 'succeeded', ...resultFromStdout(result.text ?? ''), usage, exit: { exitCode: 0 } };
}
