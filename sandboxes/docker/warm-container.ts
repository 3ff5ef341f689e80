/**
 * One warm container running the resident runner: created hardened, attached (hijacked stdio)
 * before it starts, ready once the runner's first frame arrives. It runs one invocation at a
 * time; any death (crash, OOM, kill, daemon gone) settles the pending invocation as `died`.
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { type ContainerCgroup, containerCgroup } from './cgroup-usage.ts';
import { attachStdio } from './client.ts';
import { DockerStreamDemuxer } from './demux.ts';
import { encodeFrame, FrameDecoder } from './framing.ts';
import type { HostMessage, RunMessage, RunnerMessage } from './runner/protocol.ts';

export type InvokeEnd =
  | { kind: 'result'; message: Extract<RunnerMessage, { t: 'result' }> }
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
  #stream: Duplex | undefined;
  #decoder: FrameDecoder;
  #pending: Pending | undefined;
  #ready: ((error?: Error) => void) | undefined;
  #deathReason = '';
  #destroyed: Promise<void> | undefined;
  /** Last stderr text outside any invocation (runner crash diagnostics). */
  #strayStderr = '';

  constructor(docker: Docker, key: string, name: string, maxFrameBytes: number) {
    this.docker = docker;
    this.key = key;
    this.name = name;
    this.#decoder = new FrameDecoder(maxFrameBytes);
  }

  get deathReason(): string {
    return this.#deathReason || this.#strayStderr.trim().slice(-500);
  }

  /** Create, attach, start, and wait for the runner's ready frame. */
  async boot(spec: Docker.ContainerCreateOptions, timeoutMs: number): Promise<void> {
    const container = await this.docker.createContainer(spec);
    this.id = container.id;
    const stream = await attachStdio(container);
    this.#stream = stream;
    const demux = new DockerStreamDemuxer(
      (chunk) => this.#onStdout(chunk),
      (chunk) => this.#onStderr(chunk),
    );
    stream.on('data', (chunk: Buffer) => demux.push(chunk));
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
      this.cgroup = containerCgroup(this.pid);
      await ready;
    } finally {
      clearTimeout(timer);
      this.#ready = undefined;
    }
    if (this.state === 'dead') throw new Error(`the runner died while starting: ${this.deathReason}`);
    this.state = 'idle';
  }

  #onStdout(chunk: Buffer): void {
    let messages: RunnerMessage[];
    try {
      messages = this.#decoder.push(chunk) as RunnerMessage[];
    } catch (error) {
      this.#settle({ kind: 'protocol', reason: `the runner broke the protocol: ${(error as Error).message}` });
      void this.destroy();
      return;
    }
    for (const message of messages) {
      if (message.t === 'ready') this.#ready?.();
      // Output a function makes after its result (a stray timer) belongs to no invocation: dropped.
      else if (message.t === 'log' && this.#pending && message.id === this.#pending.id)
        this.#pending.onLog(message.stream, message.data);
      else if (message.t === 'pong' && this.#pending?.isPing) this.#settle({ kind: 'pong' });
      else if (message.t === 'result' && this.#pending && message.id === this.#pending.id) {
        this.#settle({ kind: 'result', message });
      }
    }
  }

  #onStderr(chunk: Buffer): void {
    const text = chunk.toString('utf8');
    if (this.#pending && !this.#pending.isPing) this.#pending.onLog('stderr', text);
    else this.#strayStderr = (this.#strayStderr + text).slice(-4096);
  }

  #settle(end: InvokeEnd): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(end);
  }

  #die(reason: string): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.#deathReason ||= reason;
    this.#ready?.(new Error(`the runner died while starting: ${this.deathReason}`));
    this.#settle({ kind: 'died', reason });
  }

  /** Send one invocation; resolves when the runner answers or the container dies. */
  invoke(message: RunMessage, onLog: Pending['onLog']): Promise<InvokeEnd> {
    if (this.state === 'dead' || !this.#stream)
      return Promise.resolve({ kind: 'died', reason: this.deathReason || 'dead' });
    this.invocations++;
    this.lastUsedAt = Date.now();
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

  /** Kill and remove the container; idempotent. */
  destroy(reason = 'removed'): Promise<void> {
    this.#die(reason);
    this.#destroyed ??= (async () => {
      this.#stream?.destroy();
      if (!this.id) return;
      try {
        await this.docker.getContainer(this.id).remove({ force: true });
      } catch (error) {
        // 404: already gone; 409: removal already in progress. Anything else the reaper retries.
        const code = (error as { statusCode?: number }).statusCode;
        if (code !== 404 && code !== 409) throw error;
      }
    })();
    return this.#destroyed;
  }
}
