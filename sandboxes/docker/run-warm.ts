/**
 * One invocation through the warm pool: acquire a resident-runner container, send the
 * invocation frame, wait for the result, a death or the executor's signal. A timeout or cancel
 * kills the container; OOM comes from the cgroup's OOM counter or State.OOMKilled (re-inspected
 * briefly after exit), never from an exit code alone, or from the thrash watch (memory-thrash.ts)
 * when the kernel reclaims at the limit instead of killing. Any of these retires the container.
 */
import type { Invocation, RunOptions } from '../../src/core/driver.ts';
import type { RunOutcome, Usage } from '../../src/core/execution.ts';
import { usageOf } from '../../src/core/execution.ts';
import type { ScratchDisk } from '../../src/resources/scratch-disk.ts';
import { errorText, isDaemonDown, type TierContext } from './context.ts';
import { proxyEnv } from './egress.ts';
import { containerSpec, LABEL_FUNCTION, workerLabels } from './hardening.ts';
import { atMemoryLimit, watchThrash } from './memory-thrash.ts';
import {
  abortedOutcome,
  crashed,
  failed,
  memoryExceeded,
  protocolViolation,
  resultFromStdout,
  withDeath,
} from './outcome.ts';
import type { Acquired, BootPlan } from './pool.ts';
import { poolKey } from './pool-policy.ts';
import type { WarmPrepared } from './prepared.ts';
import { INIT_IN_IMAGE, NODE_IN_IMAGE, RUNNER_ENTRY } from './rootfs-plan.ts';
import type { RunMessage } from './runner/protocol.ts';
import { scratchIoDevices, tmpIsScratch } from './scratch.ts';
import { UsageMeter } from './usage-meter.ts';
import type { WarmContainer } from './warm-container.ts';

/**
 * Inspect a dead container for the kernel's OOM verdict, giving the daemon's event a moment to
 * land: the OOM event can reach the daemon well after the exit on a busy machine, so a stopped
 * container is asked again for up to ~1 s before it counts as not OOM-killed (only crash paths
 * wait).
 */
export async function inspectOom(
  ctx: TierContext,
  id: string,
): Promise<{ oomKilled: boolean; exitCode?: number } | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const info = await ctx.docker.getContainer(id).inspect();
      if (info.State.OOMKilled) return { oomKilled: true, exitCode: info.State.ExitCode };
      if (!info.State.Running && attempt >= 19) return { oomKilled: false, exitCode: info.State.ExitCode };
    } catch {
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { oomKilled: false };
}

function runnerCmd(kind: 'js' | 'script', memoryMb: number): string[] {
  // V8's heap limit above the cgroup limit: the kernel OOM killer (which we can see) acts first.
  const heap = Math.max(16, memoryMb * 2);
  return [
    INIT_IN_IMAGE,
    '--',
    NODE_IN_IMAGE,
    '--no-warnings',
    `--max-old-space-size=${heap}`,
    RUNNER_ENTRY,
    `--kind=${kind}`,
    `--child-heap-mb=${heap}`,
  ];
}

const MIB = 1024 * 1024;

/**
 * A warm container's boot plan: a scratch disk of tmpMb for /tmp (where the host makes them),
 * the spec built on it, and — for a function granted network — an egress proxy whose listener
 * opens in the container's namespace once it runs, before the runner takes an invocation. The
 * plan releases both after the container is removed, also when the boot fails.
 */
export async function bootPlan(
  ctx: TierContext,
  name: string,
  limits: RunOptions['limits'],
  p: WarmPrepared,
  spec: (
    disk: ScratchDisk | undefined,
    ioDevices: string[] | undefined,
    env: Record<string, string> | undefined,
  ) => BootPlan['spec'],
): Promise<BootPlan> {
  const disk = ctx.scratch ? await ctx.scratch.create(name, limits.tmpMb * MIB) : undefined;
  const io = disk ? scratchIoDevices(disk, ctx.facts.blockDevice) : undefined;
  const egress = p.grant.kind === 'none' ? undefined : ctx.newEgress(p.grant);
  return {
    spec: spec(disk, io?.paths, egress ? proxyEnv() : undefined),
    ...(io ? { countDevices: io.numbers } : {}),
    started: async (c) => {
      if (disk && tmpIsScratch(c.pid, disk.device) !== true)
        throw new Error(
          `the container's /tmp is not its scratch disk ${disk.device} (is the Docker daemon in another mount namespace? set docker.scratch=tmpfs)`,
        );
      if (egress) {
        await egress.attach(c.pid);
        c.egress = egress;
      }
    },
    release: async () => {
      await egress?.close();
      await disk?.destroy();
    },
  };
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
  const pids = limits.pids;
  const done = (outcome: RunOutcome, start?: RunOutcome['start'], pidsHit = false): RunOutcome => ({
    ...withDeath(outcome, limits, pids, pidsHit),
    ...(start ? { start } : {}),
  });
  // Warm containers are never shared between functions: the key includes the digest.
  const key = poolKey(p.image, limits, p.digest);
  const planFor = (name: string) =>
    bootPlan(ctx, name, limits, p, (disk, ioDevices, env) =>
      containerSpec({
        name,
        image: p.image,
        cmd: runnerCmd(p.kind, limits.memoryMb),
        // The proxy variables for the runner to hand to the js-host (it starts before any invocation).
        ...(env ? { env } : {}),
        limits,
        labels: workerLabels(ctx.workerId, 'warm', { [LABEL_FUNCTION]: p.functionName }),
        stdinOnce: false,
        runner: true,
        facts: ctx.facts,
        defaults: ctx.defaults,
        ...(disk ? { scratch: { source: disk.mountPoint } } : {}),
        ...(ioDevices ? { ioDevices } : {}),
      }),
    );
  let acquired: Acquired;
  try {
    acquired = await ctx.pool.acquire(key, planFor, signal);
  } catch (error) {
    const usage = usageOf({ wallMs: Date.now() - t0 });
    if (signal.aborted) return done(abortedOutcome(signal, usage));
    if (isDaemonDown(error))
      return done(unavailableOutcome(`the Docker daemon is not reachable: ${errorText(error)}`, usage));
    return done(crashed(`a warm container could not start: ${errorText(error)}`, usage));
  }
  const c = acquired.container;
  ctx.running.set(invocation.id, c.id);
  try {
    const start = { kind: acquired.booted ? ('cold' as const) : ('warm' as const), initMs: Date.now() - t0 };
    const { outcome, pidsHit } = await invokeIn(ctx, c, p, invocation, options);
    return done(outcome, start, pidsHit);
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
): Promise<{ outcome: RunOutcome; pidsHit?: boolean }> {
  const { limits, signal, logs } = options;
  options.onStart?.();
  const meter = new UsageMeter(c.cgroup);
  meter.begin(c.invocations === 0);
  c.egress?.begin((text) => logs.write(text));
  const started = Date.now();
  const message: RunMessage = {
    t: 'run',
    id: invocation.id,
    kind: p.kind,
    digest: p.digest,
    functionName: p.functionName,
    functionVersion: p.functionVersion,
    deadline: options.deadline,
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
  // A container pinned at its memory limit while the kernel reclaims (no OOM kill) ends as what it is.
  let thrashed = false;
  const stopWatch = watchThrash(
    c.cgroup,
    () => {
      thrashed = true;
      void c.destroy(`thrashing at its ${limits.memoryMb} MiB memory limit`).catch(() => {});
    },
    { limitBytes: limits.memoryMb * MIB },
  );
  const end = await Promise.race([c.invoke(message, (_stream, text) => logs.write(text)), aborted]);
  stopWatch();
  if (onAbort) signal.removeEventListener('abort', onAbort);
  // Before the container can go back to the pool: what the invocation left open is closed.
  meter.net = c.egress?.end();
  const wallMs = () => Date.now() - started;
  const pidsHit = () => (meter.pidsHitsSinceBegin() ?? 0) > 0;

  if (thrashed) {
    const usage = meter.end(wallMs(), false);
    await ctx.pool.release(c, false);
    return { outcome: memoryExceeded(limits.memoryMb, usage, { signal: 'SIGKILL' }, 'thrashed') };
  }
  if (end === 'aborted') {
    meter.read();
    const usage = meter.end(wallMs(), false);
    await ctx.pool.release(c, false);
    return { outcome: abortedOutcome(signal, usage) };
  }
  if (end.kind === 'protocol') {
    const usage = meter.end(wallMs(), false);
    ctx.pool.protocolViolations++;
    await ctx.pool.release(c, false);
    return { outcome: protocolViolation(end.reason, usage) };
  }
  if (end.kind === 'died') {
    const usage = meter.end(wallMs(), false);
    const hit = pidsHit();
    const cgroupOom = (meter.oomKillsSinceBegin() ?? 0) > 0;
    const verdict = await inspectOom(ctx, c.id);
    await ctx.pool.release(c, false);
    if (cgroupOom || verdict?.oomKilled)
      return { outcome: memoryExceeded(limits.memoryMb, usage, { exitCode: verdict?.exitCode }) };
    if (!verdict) {
      const down = await ctx.docker.ping().then(
        () => false,
        () => true,
      );
      if (down) return { outcome: unavailableOutcome('the Docker daemon went away while the function ran', usage) };
    }
    const reason = c.deathReason || end.reason;
    const exit = verdict?.exitCode !== undefined ? { exitCode: verdict.exitCode } : undefined;
    return { outcome: crashed(reason, usage, exit), pidsHit: hit };
  }
  if (end.kind === 'pong') {
    await ctx.pool.release(c, false);
    return { outcome: protocolViolation('a pong answered an invocation', meter.end(wallMs())) };
  }

  const usage = meter.end(wallMs());
  const result = end.message;
  if (result.late) ctx.pool.lateLogBytes += result.late;
  const hit = pidsHit();
  // A child can be OOM-killed while the runner lives: the cgroup counter tells. Under load the
  // counter was seen not to (a JS bomb's child SIGKILLed, `killed` instead of memory_exceeded);
  // nothing but the OOM killer SIGKILLs the runner's child with no verdict of its own (a
  // timeout or a protocol breach has its own code), so one killed with the peak at the limit was.
  const childKilled =
    !result.ok &&
    result.signal === 'SIGKILL' &&
    (result.code === 'sandbox_crashed' || result.code === 'function_error');
  let oomKilledChild = childKilled && atMemoryLimit(usage.memoryPeakBytes, limits.memoryMb * MIB);
  // The OOM killer may take the runner too, right after it answered: the container and its cgroup
  // are gone, so its counters are the stale ones of begin(). Docker saw the OOM kill: ask it.
  if (childKilled && !oomKilledChild && meter.vanished)
    oomKilledChild = (await inspectOom(ctx, c.id))?.oomKilled === true;
  if ((meter.oomKillsSinceBegin() ?? 0) > 0 || oomKilledChild) {
    await ctx.pool.release(c, false);
    const exit = result.ok ? undefined : { exitCode: result.exitCode, signal: result.signal };
    return { outcome: memoryExceeded(limits.memoryMb, usage, exit) };
  }
  if (!result.ok && (result.code === 'protocol_violation' || result.code === 'sandbox_crashed')) {
    // The runner's JS child broke its protocol or died: the container goes, never back to the pool.
    await ctx.pool.release(c, false);
    if (result.code === 'protocol_violation') {
      ctx.pool.protocolViolations++;
      return { outcome: protocolViolation(result.message, usage) };
    }
    const exit =
      result.exitCode !== undefined || result.signal ? { exitCode: result.exitCode, signal: result.signal } : undefined;
    return { outcome: crashed(result.message, usage, exit), pidsHit: hit };
  }
  await ctx.pool.release(c, true);
  if (!result.ok) {
    const exit =
      result.exitCode !== undefined || result.signal ? { exitCode: result.exitCode, signal: result.signal } : undefined;
    return { outcome: failed({ code: result.code, message: result.message }, usage, exit), pidsHit: hit };
  }
  if (result.json !== undefined) {
    if (Buffer.byteLength(result.json) > limits.resultBytes) {
      return {
        outcome: failed(
          { code: 'result_too_large', message: `the result is larger than ${limits.resultBytes} bytes of JSON` },
          usage,
        ),
      };
    }
    let value: unknown;
    try {
      value = JSON.parse(result.json);
    } catch (error) {
      return {
        outcome: failed(
          { code: 'result_not_serializable', message: `the result's JSON could not be read back: ${errorText(error)}` },
          usage,
        ),
      };
    }
    return { outcome: { status: 'succeeded', result: value, usage, exit: { exitCode: 0 } } };
  }
  return { outcome: { status: 'succeeded', ...resultFromStdout(result.text ?? ''), usage, exit: { exitCode: 0 } } };
}
