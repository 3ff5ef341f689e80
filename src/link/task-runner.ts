/**
 * Runs the Master's dispatches on the executor and turns their ends into durable results; answers
 * control messages about tasks (cancel, pause, resume).
 */
import type { Artifact } from '../core/driver.ts';
import { isStrataError, StrataError } from '../core/errors.ts';
import type { ExecutionRecord } from '../core/execution.ts';
import { Batcher } from '../protocol/batcher.ts';
import type { Dispatch__Output, TaskRef__Output } from '../protocol/proto.ts';
import type { U64 } from '../protocol/uint64.ts';
import { executionIdOf } from '../protocol/wire.ts';
import { DEFAULT_TENANT, tenantOfKey } from '../tenants/namespace.ts';
import type { Outbox, OutboxEntry } from './outbox.ts';
import type { LinkExecutor, LinkLogger, LinkRegistry, LinkSignature, LinkSignatures } from './types.ts';

/** Artifacts kept in memory by digest (they are small next to their prepared sandboxes). */
const ARTIFACT_CACHE = 64;

export interface TaskRef {
  taskId: string;
  attempt: number;
  /** uint64, echoed exactly as the Master sent it (see src/protocol/uint64.ts). */
  epoch: U64;
}

export interface HeldTask {
  ref: TaskRef;
  masterId: string;
  executionId: string;
  state: 'preparing' | 'queued' | 'running' | 'done';
  controller: AbortController;
}

export interface ControlResult {
  ok: boolean;
  code: string;
  message: string;
}

/** What the runner needs from the session. */
export interface RunnerHooks {
  status(
    ref: TaskRef,
    state: 'TASK_STATE_ACCEPTED' | 'TASK_STATE_RUNNING' | 'TASK_STATE_REFUSED' | 'TASK_STATE_PAUSED',
    message?: string,
  ): void;
  /** A result was stored in the outbox: send it if the session to its Master is up. */
  resultReady(entry: OutboxEntry): void;
  /** The set of unfinished tasks changed (heartbeat on change, pull more). */
  changed(): void;
  /** Fetch an artifact the registry lacks from the current Master (with its signature, if signed). */
  fetchArtifact(digest: string): Promise<FetchedArtifact>;
}

export interface FetchedArtifact {
  manifest: unknown;
  code: Uint8Array;
  signature?: LinkSignature | undefined;
}

const TRUSTS = new Set(['trusted', 'standard', 'untrusted']);

/** The wire's signature message, undefined when absent or empty. */
const signatureOf = (wire: { keyId?: string; sig?: string } | null | undefined): LinkSignature | undefined =>
  wire?.keyId || wire?.sig ? { keyId: wire.keyId ?? '', sig: wire.sig ?? '' } : undefined;

export class TaskRunner {
  readonly tasks = new Map<string, HeldTask>();
  readonly #byExecution = new Map<string, HeldTask>();
  readonly #executor: LinkExecutor;
  readonly #registry: LinkRegistry;
  readonly #outbox: Outbox;
  readonly #hooks: RunnerHooks;
  readonly #log: LinkLogger;
  readonly #signatures: LinkSignatures | undefined;
  readonly #fetching = new Map<string, Promise<Artifact>>();
  /** Artifacts by digest, most recently used last. */
  readonly #artifacts = new Map<string, Artifact>();
  readonly #pending = new Batcher<{ held: HeldTask; entry: Omit<OutboxEntry, 'id'> }>((b) => this.#flush(b), {
    busy: () => this.unfinished > 0,
  });
  #pendingCount = 0;
  #disposed = false;
  #onStart = (record: ExecutionRecord) => {
    const held = this.#byExecution.get(record.id);
    if (!held || held.state === 'done') return;
    // Started inside submit(), before it returned: ACCEPTED still goes first.
    if (held.state === 'preparing') this.#hooks.status(held.ref, 'TASK_STATE_ACCEPTED');
    held.state = 'running';
    this.#hooks.status(held.ref, 'TASK_STATE_RUNNING');
    this.#hooks.changed();
  };

  constructor(options: {
    executor: LinkExecutor;
    registry: LinkRegistry;
    outbox: Outbox;
    hooks: RunnerHooks;
    log: LinkLogger;
    /** This worker's own signature check (governance); without it signatures are not looked at. */
    signatures?: LinkSignatures;
  }) {
    this.#signatures = options.signatures;
    this.#executor = options.executor;
    this.#registry = options.registry;
    this.#outbox = options.outbox;
    this.#hooks = options.hooks;
    this.#log = options.log;
    this.#executor.on('start', this.#onStart);
  }

  dispose(): void {
    this.#disposed = true;
    this.#pending.flush();
    this.#executor.off('start', this.#onStart);
    // Running tasks are the executor's: they finish (or the executor's shutdown stops them) and
    // their results are kept in the outbox for the next start.
  }

  /** Write and send the results waiting for their batch now. */
  flushResults(): void {
    this.#pending.flush();
  }

  /** Tasks not finished yet (what counts against the worker's slots); O(1), called per event. */
  get unfinished(): number {
    return Math.max(0, this.tasks.size - this.#pendingCount);
  }

  /** Refs of everything held: running tasks and unacknowledged results, for any Master. */
  heldAll(): TaskRef[] {
    const refs = new Map<string, TaskRef>();
    for (const r of this.#outbox.refs()) refs.set(`${r.taskId}:${r.epoch}`, r);
    for (const t of this.tasks.values()) refs.set(`${t.ref.taskId}:${t.ref.epoch}`, t.ref);
    return [...refs.values()];
  }

  /** A Dispatch from `masterId`. Refusals go back as status; everything else ends as a result. */
  async dispatch(d: Dispatch__Output, masterId: string, accepting: boolean): Promise<void> {
    const ref: TaskRef | undefined = d.task
      ? { taskId: d.task.taskId, attempt: d.task.attempt, epoch: d.task.epoch }
      : undefined;
    if (!ref?.taskId || !d.function?.digest) {
      this.#log.warn({ task: d.task }, 'dispatch without task or function digest ignored');
      return;
    }
    const existing = this.tasks.get(ref.taskId);
    if (existing && existing.ref.epoch === ref.epoch) return; // a duplicate dispatch
    if (existing && existing.state !== 'done') {
      // A newer attempt of a task we still run: the old one is fenced, stop it.
      void this.#stop(existing);
    }
    if (!accepting) {
      this.#hooks.status(ref, 'TASK_STATE_REFUSED', 'the worker is draining or in maintenance');
      return;
    }
    const held: HeldTask = {
      ref,
      masterId,
      executionId: executionIdOf(ref.taskId, ref.attempt),
      state: 'preparing',
      controller: new AbortController(),
    };
    this.tasks.set(ref.taskId, held);
    this.#byExecution.set(held.executionId, held);
    this.#hooks.changed();

    let artifact: Artifact;
    let input: unknown;
    const tenant = d.tenant || DEFAULT_TENANT;
    try {
      artifact = await this.#artifact(d);
      // The task runs in its function's tenant namespace, and only there.
      if (tenantOfKey(artifact.name) !== tenant)
        throw new StrataError(
          'forbidden',
          `task ${ref.taskId} is of tenant ${tenant}, but its function ${artifact.name} is not in that tenant's namespace`,
        );
      const inputJson = Buffer.from(d.inputJson).toString('utf8') || 'null';
      try {
        input = JSON.parse(inputJson);
      } catch {
        throw new StrataError('invalid_request', 'the task input is not valid JSON');
      }
    } catch (err) {
      const e = isStrataError(err) ? err : new StrataError('internal', (err as Error).message);
      this.#finish(held, rejectedRecord(held, d, e));
      return;
    }
    if (held.controller.signal.aborted) {
      this.#finish(held, rejectedRecord(held, d, new StrataError('cancelled', 'cancelled before it started')));
      return;
    }
    let submission: ReturnType<LinkExecutor['submit']>;
    try {
      submission = this.#executor.submit({
        artifact,
        input,
        inputJson: Buffer.from(d.inputJson).toString('utf8') || 'null',
        ...(d.priority ? { priority: d.priority } : {}),
        ...(d.timeoutMs ? { timeoutMs: d.timeoutMs } : {}),
        source: 'master',
        ...(tenant !== DEFAULT_TENANT ? { tenant } : {}),
        executionId: held.executionId,
        requestId: ref.taskId,
        signal: held.controller.signal,
      });
    } catch (err) {
      this.#forget(held);
      const code = isStrataError(err) ? err.code : 'internal';
      if (code === 'capacity_exhausted' || code === 'shutting_down') {
        this.#hooks.status(ref, 'TASK_STATE_REFUSED', (err as Error).message);
        this.#hooks.changed();
        return;
      }
      this.tasks.set(ref.taskId, held);
      this.#byExecution.set(held.executionId, held);
      this.#finish(held, rejectedRecord(held, d, isStrataError(err) ? err : new StrataError('internal', String(err))));
      return;
    }
    if (held.state === 'preparing') {
      held.state = 'queued';
      // In the executor's queue now (link.proto: ACCEPTED, once per attempt, before RUNNING).
      this.#hooks.status(ref, 'TASK_STATE_ACCEPTED');
    }
    let record: ExecutionRecord;
    try {
      record = await submission.done;
    } catch (err) {
      record = rejectedRecord(held, d, new StrataError('internal', `the executor failed: ${(err as Error).message}`));
      record.status = 'killed';
    }
    this.#finish(held, record);
  }

  #forget(held: HeldTask): void {
    if (this.tasks.get(held.ref.taskId) === held) this.tasks.delete(held.ref.taskId);
    this.#byExecution.delete(held.executionId);
  }

  #finish(held: HeldTask, record: ExecutionRecord): void {
    held.state = 'done';
    this.#byExecution.delete(held.executionId);
    if (this.#disposed) {
      // The link is stopped (the worker is shutting down): keep the result if the store is still
      // open, for the next start; never throw from here.
      try {
        this.#outbox.add(entryOf(held, record));
      } catch (err) {
        this.#log.warn({ task: held.ref, err: (err as Error).message }, 'result not kept: the link is stopped');
      }
      return;
    }
    this.#pendingCount++;
    this.#pending.push({ held, entry: entryOf(held, record) });
  }

  /** Results of this moment into the outbox in one commit, then (and only then) sent. */
  #flush(batch: { held: HeldTask; entry: Omit<OutboxEntry, 'id'> }[]): void {
    this.#pendingCount -= batch.length;
    const ids = this.#outbox.addAll(batch.map((b) => b.entry));
    batch.forEach(({ held, entry }, i) => {
      // The outbox holds it now; the in-memory entry is no longer needed.
      if (this.tasks.get(held.ref.taskId) === held) this.tasks.delete(held.ref.taskId);
      this.#hooks.resultReady({ id: ids[i] as number, ...entry });
    });
    this.#hooks.changed();
  }

  async #artifact(d: Dispatch__Output): Promise<Artifact> {
    const digest = d.function!.digest;
    const inline = d.inline && d.inline.digest === digest ? d.inline : undefined;
    const given = signatureOf(inline?.signature);
    // Content-addressed, so immutable: a burst of one function reads the registry once, not
    // once per task (a registry lookup was the worker's top cost per dispatch).
    const cached = this.#artifacts.get(digest);
    if (cached) return this.#admitSignature(cached, given);
    const known = this.#registry.getByDigest(digest);
    if (known) return this.#admitSignature(this.#remember(digest, await this.#registry.artifact(known)), given);
    let pending = this.#fetching.get(digest);
    if (!pending) {
      pending = (async () => {
        let source: FetchedArtifact;
        if (inline) {
          source = {
            manifest: JSON.parse(Buffer.from(inline.manifestJson).toString('utf8')),
            code: inline.code,
            signature: given,
          };
        } else {
          source = await this.#hooks.fetchArtifact(digest);
        }
        // Verified before the artifact is stored: a refused one never enters the registry. The
        // trust it claims is in the digest (import checks it); an unreadable one counts as trusted.
        const claimed = (source.manifest as { trust?: unknown } | null)?.trust;
        const trust = TRUSTS.has(claimed as string) ? (claimed as 'trusted') : 'trusted';
        const verified = this.#signatures?.verifyDispatched({ digest, trust }, source.signature);
        const fn = await this.#registry.importArtifact(source.manifest, new Uint8Array(source.code), digest);
        if (verified) this.#signatures?.recordDispatched(fn, verified);
        return this.#remember(digest, await this.#registry.artifact(fn));
      })();
      this.#fetching.set(digest, pending);
      pending.finally(() => this.#fetching.delete(digest)).catch(() => {});
    }
    return pending;
  }

  /** A known artifact, its signature checked again for this dispatch (a fresh one is recorded). */
  #admitSignature(artifact: Artifact, given: LinkSignature | undefined): Artifact {
    if (!this.#signatures) return artifact;
    const verified = this.#signatures.verifyDispatched(
      { digest: artifact.digest, trust: artifact.manifest.trust, name: artifact.name, version: artifact.version },
      given,
    );
    if (verified) this.#signatures.recordDispatched(artifact, verified);
    return artifact;
  }

  #remember(digest: string, artifact: Artifact): Artifact {
    this.#artifacts.delete(digest);
    this.#artifacts.set(digest, artifact);
    if (this.#artifacts.size > ARTIFACT_CACHE) this.#artifacts.delete(this.#artifacts.keys().next().value as string);
    return artifact;
  }

  #find(ref: TaskRef__Output | null | undefined): HeldTask | undefined {
    if (!ref) return undefined;
    const held = this.tasks.get(ref.taskId);
    return held && held.ref.epoch === ref.epoch ? held : undefined;
  }

  async #stop(held: HeldTask): Promise<void> {
    held.controller.abort(new StrataError('cancelled', 'cancelled by the Master'));
    await this.#executor.cancel(held.executionId).catch(() => false);
  }

  /** Cancel: answered once the sandbox is empty. */
  async cancel(ref: TaskRef__Output | null | undefined): Promise<ControlResult> {
    const held = this.#find(ref);
    if (!held) return { ok: false, code: 'not_found', message: `no running attempt ${ref?.taskId}/${ref?.epoch}` };
    await this.#stop(held);
    return { ok: true, code: '', message: '' };
  }

  async pauseResume(what: 'pause' | 'resume', ref: TaskRef__Output | null | undefined): Promise<ControlResult> {
    const held = this.#find(ref);
    if (!held) return { ok: false, code: 'not_found', message: `no running attempt ${ref?.taskId}/${ref?.epoch}` };
    const fn = what === 'pause' ? this.#executor.pause : this.#executor.resume;
    if (!fn) return { ok: false, code: 'forbidden', message: `this worker cannot ${what} invocations` };
    try {
      await fn.call(this.#executor, held.executionId);
      if (what === 'pause') this.#hooks.status(held.ref, 'TASK_STATE_PAUSED');
      else this.#hooks.status(held.ref, 'TASK_STATE_RUNNING');
      return { ok: true, code: '', message: '' };
    } catch (err) {
      return {
        ok: false,
        code: isStrataError(err) ? err.code : 'internal',
        message: (err as Error).message,
      };
    }
  }

  /** The held task of an execution id (for live logs). */
  byExecution(executionId: string): HeldTask | undefined {
    return this.#byExecution.get(executionId);
  }
}

const entryOf = (held: HeldTask, record: ExecutionRecord): Omit<OutboxEntry, 'id'> => ({
  masterId: held.masterId,
  taskId: held.ref.taskId,
  attempt: held.ref.attempt,
  epoch: held.ref.epoch,
  status: record.status,
  errorCode: record.error?.code ?? '',
  recordJson: JSON.stringify(record),
});

function rejectedRecord(held: HeldTask, d: Dispatch__Output, error: StrataError): ExecutionRecord {
  const now = new Date().toISOString();
  return {
    id: held.executionId,
    function: { name: d.function?.name ?? '', version: d.function?.version ?? 0, digest: d.function?.digest ?? '' },
    status: 'rejected',
    error: { code: error.code, message: error.message },
    logs: '',
    usage: { wallMs: 0, measured: [] },
    tier: null,
    priority: d.priority,
    source: 'master',
    ...(d.tenant && d.tenant !== DEFAULT_TENANT ? { tenant: d.tenant } : {}),
    timings: { queuedMs: 0, enqueuedAt: now, startedAt: null, finishedAt: now },
  };
}
