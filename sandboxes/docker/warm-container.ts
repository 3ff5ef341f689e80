/**
 * One warm container running the resident runner: created hardened, attached (hijacked stdio)
 * before it starts, ready once the runner's first frame arrives. It runs one invocation at a
 * time; any death (crash, OOM, kill, daemon gone) settles the pending invocation as `died`.
 *
 * Everything read from the container goes through RunnerChannel (size cap + schema) and then
 * through a turn check here (a log or result only for the invocation in flight, a pong only for
 * the ping in flight, one ready). Any violation settles the pending invocation as `protocol`
 * and destroys the container; nothing the container sends can throw in this process.
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { type ContainerCgroup, containerCgroup } from './cgroup-usage.ts';
import { attachStdio } from './client.ts';
import { DockerStreamDemuxer } from './demux.ts';
import type { ContainerEgress } from './egress.ts';
import { encodeFrame } from './framing.ts';
import type { BootPlan } from './pool.ts';
import type { HostMessage, RunMessage, RunnerMessage, RunnerResult } from './runner/protocol.ts';
import { frameLimitFor, RunnerChannel } from './runner-channel.ts';

export type InvokeEnd =
  | { kind: 'result'; message: RunnerResult }
  | { kind: 'died'; reason: string }
  | { kind: 'protocol'; reason: string }
  | { kind: 'pong' };

interface Pending {
  id: string;
  onLog: (stream: 'stdout' | 'stderr', text: string) => void;
  resolve: (end: InvokeEnd) => void;
  isPing?: boolean;
}

export type WarmState = 'starting' | 'idle' | 'busy' | 'dead';

export class WarmContainer {
  readonly key: string;
  readonly name: string;
  readonly docker: Docker;
  id = '';
  pid = 0;
  cgroup: ContainerCgroup | undefined;
  state: WarmState = 'starting';
  /** Digests whose source this container's runner already has. */
  readonly loaded = new Set<string>();
  createdAt = Date.now();
  lastUsedAt = Date.now();
  invocations = 0;
  /** The runner's PID inside the container (from its ready frame). */
  runnerPid = 0;
  /** Why the container was destroyed for breaking the protocol, if it was. */
  violation: string | undefined;
  /** The egress proxy of a function granted network (set by the boot plan's `started`). */
  egress: ContainerEgress | undefined;
  /** Called once when the container dies, with the state it was in (the pool drops an idle one at once). */
  onDead: ((c: WarmContainer, was: WarmState) => void) | undefined;
  #stream: Duplex | undefined;
  #channel: RunnerChannel;
  #pending: Pending | undefined;
  #ready: ((error?: Error) => void) | undefined;
  #deathReason = '';
  #destroyed: Promise<void> | undefined;
  #release: (() => Promise<void>) | undefined;
  /** Last stderr text outside any invocation (runner crash diagnostics). */
  #strayStderr = '';

  constructor(docker: Docker, key: string, name: string, maxFrameBytes: number) {
    this.docker = docker;
    this.key = key;
    this.name = name;
    this.#channel = new RunnerChannel(maxFrameBytes);
  }

  get deathReason(): string {
    return this.#deathReason || this.#strayStderr.trim().slice(-500);
  }

  /**
   * Make the plan (its scratch disk), create, attach, start, run the plan's `started`, and wait
   * for the runner's ready frame. Whatever the plan made is released by destroy(), also after a
   * failed boot.
   */
  async boot(makePlan: () => Promise<BootPlan>, timeoutMs: number): Promise<void> {
    const plan = await makePlan();
    this.#release = plan.release;
    const container = await this.docker.createContainer(plan.spec);
    this.id = container.id;
    const stream = await attachStdio(container);
    this.#stream = stream;
    const demux = new DockerStreamDemuxer(
      (chunk) => this.#onStdout(chunk),
      (chunk) => this.#onStderr(chunk),
    );
    stream.on('data', (chunk: Buffer) => {
      try {
        demux.push(chunk);
      } catch (error) {
        this.#violate(`the attach stream could not be demultiplexed: ${(error as Error).message}`);
      }
    });
    stream.on('error', () => this.#die('the attach stream failed'));
    stream.on('close', () => this.#die('the container stopped'));
    stream.on('end', () => this.#die('the container stopped'));
    const ready = new Promise<void>((resolve, reject) => {
      this.#ready = (error) => (error ? reject(error) : resolve());
    });
    // The runner may die while start/inspect are still pending: the rejection is awaited below,
    // but must not count as unhandled in the meantime.
    ready.catch(() => {});
    const timer = setTimeout(
      () => this.#ready?.(new Error(`the runner did not say ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      await container.start();
      const info = await container.inspect();
      this.pid = info.State.Pid;
      const cgroup = containerCgroup(this.pid);
      this.cgroup = cgroup && plan.countDevices ? { ...cgroup, devices: plan.countDevices } : cgroup;
      await plan.started?.(this);
      await ready;
    } finally {
      clearTimeout(timer);
      this.#ready = undefined;
    }
    if (this.state === 'dead') throw new Error(`the runner died while starting: ${this.deathReason}`);
    this.state = 'idle';
  }

  #onStdout(chunk: Buffer): void {
    if (this.state === 'dead') return;
    try {
      const { messages, violation } = this.#channel.push(chunk);
      if (violation) {
        this.#violate(violation);
        return;
      }
      for (const message of messages) {
        const problem = this.#accept(message);
        if (problem) {
          this.#violate(problem);
          return;
        }
      }
    } catch (error) {
      // A bug on our side (or a log sink that threw): still never an exception in the worker.
      this.#violate(`handling a frame failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Apply one valid message; returns why it is out of turn, if it is. */
  #accept(message: RunnerMessage): string | undefined {
    const pending = this.#pending;
    if (message.t === 'ready') {
      if (!this.#ready || this.runnerPid !== 0) return 'a ready frame after start-up';
      this.runnerPid = message.pid;
      this.#ready();
      return undefined;
    }
    if (message.t === 'pong') {
      if (!pending?.isPing || message.id !== pending.id) return 'a pong frame nobody asked for';
      this.#settle({ kind: 'pong' });
      return undefined;
    }
    if (!pending || pending.isPing || message.id !== pending.id) {
      return `a ${message.t} frame for no invocation in flight`;
    }
    if (message.t === 'log') pending.onLog(message.stream, message.data);
    else this.#settle({ kind: 'result', message });
    return undefined;
  }

  #violate(reason: string): void {
    if (this.state === 'dead') return;
    this.#channel.break(reason);
    this.violation = reason;
    this.#settle({ kind: 'protocol', reason: `the runner broke the host protocol: ${reason}` });
    this.destroy(`protocol violation: ${reason}`).catch(() => {});
  }

  #onStderr(chunk: Buffer): void {
    // Only the runner and tini write here (user code cannot reach it): diagnostics, not user logs.
    this.#strayStderr = (this.#strayStderr + chunk.toString('utf8')).slice(-4096);
  }

  #settle(end: InvokeEnd): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(end);
  }

  #die(reason: string): void {
    if (this.state === 'dead') return;
    const was = this.state;
    this.state = 'dead';
    this.#deathReason ||= reason;
    this.#ready?.(new Error(`the runner died while starting: ${this.deathReason}`));
    this.#settle({ kind: 'died', reason });
    const onDead = this.onDead;
    this.onDead = undefined;
    if (onDead) queueMicrotask(() => onDead(this, was));
  }

  /** Send one invocation; resolves when the runner answers or the container dies. */
  invoke(message: RunMessage, onLog: Pending['onLog']): Promise<InvokeEnd> {
    if (this.state === 'dead' || !this.#stream)
      return Promise.resolve({ kind: 'died', reason: this.deathReason || 'dead' });
    this.invocations++;
    this.lastUsedAt = Date.now();
    this.#channel.maxFrameBytes = frameLimitFor(message.maxResultBytes);
    return new Promise<InvokeEnd>((resolve) => {
      this.#pending = { id: message.id, onLog, resolve };
      this.#write(message);
    });
  }

  /** Health check: true when the runner answers within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<boolean> {
    if (this.state === 'dead' || !this.#stream || this.#pending) return false;
    const id = `ping-${Date.now()}`;
    let timer: NodeJS.Timeout | undefined;
    const answer = await Promise.race([
      new Promise<InvokeEnd>((resolve) => {
        this.#pending = { id, onLog: () => {}, resolve, isPing: true };
        this.#write({ t: 'ping', id });
      }),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (answer === null) this.#pending = undefined;
    return answer !== null && answer.kind === 'pong' && (this.state as WarmState) !== 'dead';
  }

  #write(message: HostMessage): void {
    try {
      this.#stream?.write(encodeFrame(message));
    } catch {
      this.#die('writing to the container failed');
    }
  }

  /** Wait (bounded, ~5 s) until the daemon no longer knows the container. */
  async #gone(id: string): Promise<void> {
    for (let i = 0; i < 50; i++) {
      try {
        await this.docker.getContainer(id).inspect();
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kill and remove the container; idempotent. */
  destroy(reason = 'removed'): Promise<void> {
    this.#die(reason);
    this.#destroyed ??= (async () => {
      this.#stream?.destroy();
      try {
        if (this.id) await this.docker.getContainer(this.id).remove({ force: true });
      } catch (error) {
        // 404: already gone; 409: removal already in progress (wait for it to be gone, so
        // nothing that counts containers after destroy() sees it). Anything else the reaper retries.
        const code = (error as { statusCode?: number }).statusCode;
        if (code === 409 && this.id) await this.#gone(this.id);
        else if (code !== 404) throw error;
      } finally {
        // After the container: its scratch disk is unmounted only once nothing holds it.
        const release = this.#release;
        this.#release = undefined;
        await release?.().catch(() => {});
      }
    })();
    return this.#destroyed;
  }
}
