/**
 * Control of one task (cancel, pause, resume) wherever it is: pending (finished in the store),
 * running on a worker of this Master (a Control message, answered by its ControlAck), or running
 * under another Master on the shared store (remote-control.ts carries the request there).
 */
import { type ControlAction, refOf } from './control.ts';
import type { RemoteControl } from './remote-control.ts';
import { rowOf, type SharedTasks } from './shared-tasks.ts';
import type { MasterStoreBackend, RemoteAction, RemoteReply } from './store-backend.ts';
import { isFinalTaskStatus, type TaskRow, type TaskStatus } from './types.ts';
import type { ControlReply } from './worker-state.ts';

export interface TaskControlHost {
  readonly masterId: string;
  readonly live: Map<string, TaskRow>;
  readonly backend: MasterStoreBackend;
  readonly shared: SharedTasks;
  readonly remote: RemoteControl;
  /** Send a control message to a connected worker and wait for its ControlAck. */
  control(workerId: string, action: ControlAction): Promise<ControlReply>;
  logs(taskId: string): string | undefined;
  finish(task: TaskRow, status: TaskStatus, code: string, message: string): Promise<boolean>;
}

export class TaskControl {
  readonly #host: TaskControlHost;

  constructor(host: TaskControlHost) {
    this.#host = host;
  }

  async cancel(taskId: string): Promise<ControlReply> {
    const task = this.#host.live.get(taskId);
    if (task?.workerId && task.status !== 'pending') {
      task.cancelRequested = true;
      // Kept in the store: an attempt requeued later is finished `killed`, never run again.
      await this.#host.backend.requestCancel(taskId);
      return this.#host.control(task.workerId, { cancel: refOf(task) });
    }
    return this.#cancelStored(taskId);
  }

  /** A task this Master does not run: cancelled in the store while pending, else its Master's. */
  async #cancelStored(taskId: string): Promise<ControlReply> {
    await this.#host.shared.flushed();
    const stored = await this.#host.backend.getTask(taskId);
    if (!stored) return { ok: false, code: 'not_found', message: `no task ${taskId}` };
    if (isFinalTaskStatus(stored.status))
      return { ok: false, code: 'conflict', message: `task ${taskId} already finished (${stored.status})` };
    if (stored.status !== 'pending') {
      if (!stored.masterId || stored.masterId === this.#host.masterId)
        return { ok: false, code: 'unavailable', message: `worker ${stored.workerId} is not connected` };
      // Kept in the store first: if the attempt is requeued meanwhile, it is never run again.
      await this.#host.backend.requestCancel(taskId);
      return this.#host.remote.ask(taskId, 'cancel', stored.masterId);
    }
    const done = await this.#host.finish(rowOf(stored), 'killed', 'cancelled', 'cancelled before it was dispatched');
    return done
      ? { ok: true, code: '', message: 'cancelled before dispatch' }
      : { ok: false, code: 'conflict', message: `task ${taskId} was dispatched meanwhile` };
  }

  async pauseOrResume(taskId: string, what: 'pause' | 'resume'): Promise<ControlReply> {
    const task = this.#host.live.get(taskId);
    const notRunning = { ok: false, code: 'not_found', message: `task ${taskId} is not running on a worker` };
    if (!task?.workerId) {
      const stored = this.#host.backend.kind === 'postgres' ? await this.#host.backend.getTask(taskId) : undefined;
      const elsewhere = stored?.masterId && stored.masterId !== this.#host.masterId;
      if (!elsewhere || (stored.status !== 'dispatched' && stored.status !== 'running')) return notRunning;
      return this.#host.remote.ask(taskId, what, stored.masterId as string);
    }
    return this.#host.control(task.workerId, what === 'pause' ? { pause: refOf(task) } : { resume: refOf(task) });
  }

  /** A request from another Master about a task this Master's worker runs. */
  async actLocally(taskId: string, action: RemoteAction): Promise<RemoteReply> {
    if (!this.#host.live.has(taskId))
      return { ok: false, code: 'not_found', message: `task ${taskId} does not run here` };
    if (action === 'logs') return { ok: true, code: '', message: this.#host.logs(taskId) ?? '' };
    if (action === 'cancel') return this.cancel(taskId);
    return this.pauseOrResume(taskId, action);
  }
}
