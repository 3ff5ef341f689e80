/**
 * Small fakes of the executor and the registries, so the link and the Master are tested over real
 * gRPC without sandboxes. Inputs steer the fake function: {sleep: ms}, {fail: true},
 * {bytes: n} (a result of n characters), {echo: value}.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Artifact } from '../../../src/core/driver.ts';
import { StrataError } from '../../../src/core/errors.ts';
import type { ExecutionRecord } from '../../../src/core/execution.ts';
import type { ExecutorStats, InvokeRequest, Submission } from '../../../src/executor/types.ts';
import type { Catalogue, CatalogueFunction } from '../../../src/master/types.ts';

export const digestOf = (manifest: unknown, code: Uint8Array): string =>
  createHash('sha256').update(JSON.stringify(manifest)).update('\0').update(code).digest('hex');

interface Stored {
  fn: CatalogueFunction;
  code: Uint8Array;
}

/** The Master's catalogue (and the worker's registry: same digest rule). */
export class FakeCatalogue implements Catalogue {
  readonly byDigest = new Map<string, Stored>();
  readonly byName = new Map<string, Stored[]>();
  imports = 0;

  async deploy(
    manifest: unknown,
    code: Uint8Array = new Uint8Array(),
  ): Promise<{ created: boolean; fn: CatalogueFunction }> {
    const m = manifest as { name?: unknown };
    if (!m || typeof m.name !== 'string') throw new StrataError('invalid_manifest', 'manifest needs a name');
    const digest = digestOf(manifest, code);
    const existing = this.byDigest.get(digest);
    if (existing) return { created: false, fn: existing.fn };
    const versions = this.byName.get(m.name) ?? [];
    const fn = { name: m.name, version: versions.length + 1, digest, manifest };
    const stored = { fn, code };
    versions.push(stored);
    this.byName.set(m.name, versions);
    this.byDigest.set(digest, stored);
    return { created: true, fn };
  }

  get(name: string, version?: number): CatalogueFunction {
    const versions = this.byName.get(name);
    const found = version ? versions?.[version - 1] : versions?.[versions.length - 1];
    if (!found) throw new StrataError('not_found', `no function ${name}`);
    return found.fn;
  }

  getByDigest(digest: string): CatalogueFunction | undefined {
    return this.byDigest.get(digest)?.fn;
  }

  artifact(fn: CatalogueFunction): Artifact {
    const stored = this.byDigest.get(fn.digest);
    if (!stored) throw new StrataError('not_found', `no artifact ${fn.digest}`);
    return {
      digest: fn.digest,
      name: fn.name,
      version: fn.version,
      manifest: fn.manifest as Artifact['manifest'],
      code: stored.code,
    };
  }

  importArtifact(manifest: unknown, code: Uint8Array, expectedDigest: string): CatalogueFunction {
    const digest = digestOf(manifest, code);
    if (digest !== expectedDigest)
      throw new StrataError('invalid_code', `artifact digest mismatch: got ${digest}, expected ${expectedDigest}`);
    this.imports++;
    const m = manifest as { name: string };
    const fn = { name: m.name, version: 1, digest, manifest };
    this.byDigest.set(digest, { fn, code });
    return fn;
  }
}

interface Running {
  request: InvokeRequest;
  controller: AbortController;
  done: Promise<ExecutionRecord>;
  paused: boolean;
}

export class FakeExecutor extends EventEmitter {
  concurrency: number;
  queueSize: number;
  draining = false;
  canPause = true;
  readonly running = new Map<string, Running>();
  readonly seen: string[] = [];
  #seq = 0;

  constructor(options: { concurrency?: number; queueSize?: number } = {}) {
    super();
    this.concurrency = options.concurrency ?? 4;
    this.queueSize = options.queueSize ?? 0;
  }

  submit(request: InvokeRequest): Submission {
    if (this.draining) throw new StrataError('shutting_down', 'draining');
    if (this.running.size >= this.concurrency + this.queueSize) throw new StrataError('capacity_exhausted', 'full');
    const id = request.executionId ?? `ex-${++this.#seq}`;
    this.seen.push(id);
    const controller = new AbortController();
    request.signal?.addEventListener('abort', () => controller.abort(request.signal?.reason));
    const enqueuedAt = new Date().toISOString();
    const started = Date.now();
    const base = (): ExecutionRecord => ({
      id,
      function: { name: request.artifact.name, version: request.artifact.version, digest: request.artifact.digest },
      status: 'running',
      logs: '',
      usage: { wallMs: Date.now() - started, measured: ['wallMs'] },
      tier: 'isolate',
      priority: request.priority ?? 0,
      source: 'master',
      timings: { queuedMs: 0, enqueuedAt, startedAt: enqueuedAt, finishedAt: null },
    });
    const done = (async (): Promise<ExecutionRecord> => {
      await Promise.resolve();
      this.emit('start', base());
      const input = (request.input ?? {}) as { sleep?: number; fail?: boolean; bytes?: number; echo?: unknown };
      if (input.sleep) {
        await new Promise<void>((res) => {
          const t = setTimeout(res, input.sleep);
          controller.signal.addEventListener('abort', () => {
            clearTimeout(t);
            res();
          });
        });
      }
      const record = base();
      record.timings.finishedAt = new Date().toISOString();
      if (controller.signal.aborted) {
        record.status = 'killed';
        record.error = { code: 'cancelled', message: 'the invocation was cancelled' };
      } else if (input.fail) {
        record.status = 'failed';
        record.error = { code: 'function_error', message: 'boom' };
      } else {
        record.status = 'succeeded';
        record.result = input.bytes ? 'x'.repeat(input.bytes) : (input.echo ?? { ok: true, id });
      }
      return record;
    })().finally(() => {
      this.running.delete(id);
    });
    done.then((r) => this.emit('finish', r));
    this.running.set(id, { request, controller, done, paused: false });
    return { id, done };
  }

  async cancel(id: string): Promise<boolean> {
    const r = this.running.get(id);
    if (!r) return false;
    r.controller.abort(new StrataError('cancelled', 'cancelled'));
    await r.done;
    return true;
  }

  async pause(id: string): Promise<void> {
    if (!this.canPause) throw new StrataError('forbidden', 'this tier cannot pause an invocation');
    const r = this.running.get(id);
    if (!r) throw new StrataError('not_found', `no execution ${id}`);
    r.paused = true;
  }

  async resume(id: string): Promise<void> {
    if (!this.canPause) throw new StrataError('forbidden', 'this tier cannot resume an invocation');
    const r = this.running.get(id);
    if (!r) throw new StrataError('not_found', `no execution ${id}`);
    r.paused = false;
  }

  stats(): ExecutorStats {
    const running = Math.min(this.running.size, this.concurrency);
    return {
      running,
      queued: this.running.size - running,
      concurrency: this.concurrency,
      queueSize: this.queueSize,
      freeSlots: Math.max(0, this.concurrency - this.running.size),
      draining: this.draining,
    };
  }

  setConcurrency(n: number): void {
    this.concurrency = n;
  }

  async drain(): Promise<void> {
    this.draining = true;
    await Promise.all([...this.running.values()].map((r) => r.done));
  }
}
