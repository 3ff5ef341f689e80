/**
 * The cold path for custom images that do not speak the runner protocol: one hardened container
 * per invocation, the input's JSON on stdin (then closed), the result on stdout (JSON when it
 * parses, text otherwise), stderr into the log budget. The container is always removed.
 */
import { existsSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Invocation, RunOptions } from '../../src/core/driver.ts';
import type { RunOutcome, Usage } from '../../src/core/execution.ts';
import { usageOf } from '../../src/core/execution.ts';
import type { ScratchDisk } from '../../src/resources/scratch-disk.ts';
import { containerCgroup } from './cgroup-usage.ts';
import { attachStdio } from './client.ts';
import { errorText, isDaemonDown, type TierContext } from './context.ts';
import { DockerStreamDemuxer } from './demux.ts';
import type { ContainerEgress } from './egress.ts';
import { containerSpec, LABEL_FUNCTION, workerLabels } from './hardening.ts';
import { abortedOutcome, crashed, failed, memoryExceeded, resultFromStdout, withDeath } from './outcome.ts';
import type { ColdPrepared } from './prepared.ts';
import { inspectOom, unavailableOutcome } from './run-warm.ts';
import { blockStat, scratchIoDevices, tmpIsScratch } from './scratch.ts';
import { UsageMeter } from './usage-meter.ts';

const SAMPLE_MS = 50;

export async function runCold(
  ctx: TierContext,
  p: ColdPrepared,
  invocation: Invocation,
  options: RunOptions,
): Promise<RunOutcome> {
  const marks: Marks = {};
  const t0 = Date.now();
  const outcome = await runOnce(ctx, p, invocation, options, marks);
  const pids = options.limits.pids;
  return {
    ...withDeath(outcome, options.limits, pids, marks.pidsHit),
    ...(marks.startedAt !== undefined ? { start: { kind: 'cold' as const, initMs: marks.startedAt - t0 } } : {}),
  };
}

/** What the run found out on the way: when the code started, whether a fork hit the pids limit. */
interface Marks {
  startedAt?: number;
  pidsHit?: boolean;
}

async function runOnce(
  ctx: TierContext,
  p: ColdPrepared,
  invocation: Invocation,
  options: RunOptions,
  marks: Marks,
): Promise<RunOutcome> {
  const { limits, signal, logs } = options;
  const t0 = Date.now();
  const name = ctx.newName('cold');
  ctx.coldNames.add(name);
  let container: Docker.Container | undefined;
  let stream: Duplex | undefined;
  let disk: ScratchDisk | undefined;
  let egress: ContainerEgress | undefined;
  try {
    if (signal.aborted) return abortedOutcome(signal, usageOf({ wallMs: 0 }));
    try {
      if (ctx.scratch) disk = await ctx.scratch.create(name, limits.tmpMb * 1024 * 1024);
    } catch (error) {
      return crashed(
        `the scratch disk for /tmp could not be made: ${errorText(error)}`,
        usageOf({ wallMs: Date.now() - t0 }),
      );
    }
    const io = disk ? scratchIoDevices(disk, ctx.facts.blockDevice) : undefined;
    if (p.grant.kind !== 'none') egress = ctx.newEgress(p.grant);
    const spec = containerSpec({
      name,
      image: p.image,
      cmd: p.command,
      env: p.env,
      limits,
      labels: workerLabels(ctx.workerId, 'cold', { [LABEL_FUNCTION]: p.functionName }),
      stdinOnce: true,
      facts: ctx.facts,
      defaults: ctx.defaults,
      ...(disk ? { scratch: { source: disk.mountPoint } } : {}),
      ...(io ? { ioDevices: io.paths } : {}),
    });
    try {
      container = await ctx.docker.createContainer(spec);
      stream = await attachStdio(container);
    } catch (error) {
      const usage = usageOf({ wallMs: Date.now() - t0 });
      if (isDaemonDown(error))
        return unavailableOutcome(`the Docker daemon is not reachable: ${errorText(error)}`, usage);
      if ((error as { statusCode?: number }).statusCode === 404) {
        return failed(
          {
            code: 'invalid_manifest',
            message: `image "${p.image}" is not on the Docker daemon (Strata never pulls); load or build it, then invoke again`,
          },
          usage,
        );
      }
      return crashed(`the container could not be created: ${errorText(error)}`, usage);
    }
    const out: Buffer[] = [];
    let outBytes = 0;
    let tooLarge = false;
    const c = container;
    const streamEnded = new Promise<void>((resolve) => {
      stream?.on('end', resolve);
      stream?.on('close', resolve);
      stream?.on('error', () => resolve());
    });
    const demux = new DockerStreamDemuxer(
      (chunk) => {
        if (tooLarge) return;
        outBytes += chunk.length;
        if (outBytes > limits.resultBytes) {
          tooLarge = true;
          c.kill().catch(() => {});
          return;
        }
        out.push(chunk);
      },
      (chunk) => logs.write(chunk.toString('utf8')),
    );
    stream.on('data', (chunk: Buffer) => demux.push(chunk));

    const waited = container.wait({ condition: 'next-exit' });
    // The scratch disk is this container's alone: its own counters are exact after the exit,
    // when the container's cgroup (sampled while it runs) is gone.
    const diskBase = disk ? blockStat(disk.loopDevice) : undefined;
    await container.start();
    const started = Date.now();
    marks.startedAt = started;
    ctx.running.set(invocation.id, container.id);
    options.onStart?.();
    const info = await container.inspect().catch(() => undefined);
    const pid = info?.State.Pid;
    const cgroup = pid ? containerCgroup(pid) : undefined;
    const meter = new UsageMeter(cgroup && io ? { ...cgroup, devices: io.numbers } : cgroup);
    meter.begin(true);
    meter.sample(SAMPLE_MS);
    // Set-up inside the running container, before its input: the code may wait for stdin, and
    // the proxy is listening by the time it has it.
    const problem = await setUp(pid, disk, egress, signal);
    if (problem) {
      await container.kill().catch(() => {});
      if (signal.aborted) return abortedOutcome(signal, meter.end(Date.now() - started));
      return {
        status: 'killed',
        error: { code: 'internal', message: problem },
        usage: meter.end(Date.now() - started),
      };
    }
    egress?.begin((text) => logs.write(text));
    stream.end(invocation.inputJson);

    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    const end = await Promise.race([
      waited.then(
        (r: { StatusCode: number }) => r,
        (e: unknown) => ({ error: e }),
      ),
      aborted,
    ]);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    meter.net = egress?.end();
    if (end === 'aborted') {
      const usage = meter.end(Date.now() - started);
      await container.kill().catch(() => {});
      return abortedOutcome(signal, usage);
    }
    const usage = withDiskBytes(meter.end(Date.now() - started, false), disk, diskBase);
    marks.pidsHit = (meter.pidsHitsSinceBegin() ?? 0) > 0;
    if ('error' in end) {
      if (isDaemonDown(end.error))
        return unavailableOutcome('the Docker daemon went away while the function ran', usage);
      return crashed(errorText(end.error), usage);
    }
    // The last output can trail the exit by a moment.
    await Promise.race([streamEnded, new Promise((r) => setTimeout(r, 1000))]);
    const verdict = await inspectOom(ctx, container.id);
    const exitCode = verdict?.exitCode ?? end.StatusCode;
    if (verdict?.oomKilled || (meter.oomKillsSinceBegin() ?? 0) > 0)
      return memoryExceeded(limits.memoryMb, usage, { exitCode });
    if (tooLarge) {
      return failed(
        { code: 'result_too_large', message: `the container printed more than ${limits.resultBytes} bytes on stdout` },
        usage,
      );
    }
    if (exitCode !== 0) {
      return failed({ code: 'function_error', message: `the container exited with code ${exitCode}` }, usage, {
        exitCode,
      });
    }
    return {
      status: 'succeeded',
      ...resultFromStdout(Buffer.concat(out).toString('utf8')),
      usage,
      exit: { exitCode: 0 },
    };
  } finally {
    ctx.running.delete(invocation.id);
    stream?.destroy();
    if (container) await container.remove({ force: true }).catch(() => {});
    ctx.coldNames.delete(name);
    await egress?.close();
    await disk?.destroy();
  }
}

/** The scratch disk's own byte counts when the sampled cgroup figures fell short of them. */
function withDiskBytes(
  usage: Usage,
  disk: ScratchDisk | undefined,
  base: { readBytes: number; writeBytes: number } | undefined,
): Usage {
  const now = disk && base ? blockStat(disk.loopDevice) : undefined;
  if (!now || !base) return usage;
  // The disk's own counters stand even when the container exited before its cgroup was first
  // sampled (a short-lived cold container leaves no cgroup reading at all).
  const { measured: _measured, ...figures } = usage;
  return usageOf({
    ...figures,
    ioReadBytes: Math.max(usage.ioReadBytes ?? 0, now.readBytes - base.readBytes),
    ioWriteBytes: Math.max(usage.ioWriteBytes ?? 0, now.writeBytes - base.writeBytes),
  });
}

/** Check the container's /tmp is its scratch disk and open the egress listener; the reason it failed, if it did. */
async function setUp(
  pid: number | undefined,
  disk: ScratchDisk | undefined,
  egress: ContainerEgress | undefined,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (!disk && !egress) return undefined;
  // No PID: it exited at once (before it could write or connect anywhere).
  if (!pid) return undefined;
  const onScratch = disk ? tmpIsScratch(pid, disk.device) : true;
  // Gone already (it exited at once): it wrote nothing anywhere else, and needs no proxy now.
  if (onScratch === undefined) return undefined;
  if (!onScratch)
    return `the container's /tmp is not its scratch disk ${disk?.device} (is the Docker daemon in another mount namespace? set docker.scratch=tmpfs)`;
  try {
    await egress?.attach(pid, signal);
  } catch (error) {
    if (!existsSync(`/proc/${pid}`)) return undefined;
    return `cannot set up network egress: ${errorText(error)}`;
  }
  return undefined;
}
