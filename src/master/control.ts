/** Control messages the Master sends (Control in link.proto), as wire objects. */
import { modeToWire } from '../protocol/wire.ts';
import type { TaskRow } from './types.ts';
import type { ControlReply, WorkerState } from './worker-state.ts';

const CONTROL_TIMEOUT_MS = 30_000;

/** Control actions the Master can send; see Control in link.proto. */
export type ControlAction =
  | { cancel: { taskId: string; attempt: number; epoch: number | string } }
  | { pause: { taskId: string; attempt: number; epoch: number | string } }
  | { resume: { taskId: string; attempt: number; epoch: number | string } }
  | { configure: Record<string, unknown> }
  | { drain: { disconnect: boolean } };

export const refOf = (t: TaskRow) => ({ taskId: t.id, attempt: t.attempt, epoch: t.epoch });

export function toWireControl(action: ControlAction): Record<string, unknown> {
  if ('configure' in action) {
    const c = action.configure;
    return {
      configure: {
        heartbeatIntervalMs: Number(c.heartbeatIntervalMs ?? 0),
        concurrency: Number(c.concurrency ?? 0),
        logLevel: String(c.logLevel ?? ''),
        dispatchMode:
          c.dispatchMode === 'push' || c.dispatchMode === 'pull' || c.dispatchMode === 'hybrid'
            ? modeToWire(c.dispatchMode)
            : 'DISPATCH_MODE_UNSPECIFIED',
        hybridHigh: Number(c.hybridHigh ?? 0),
        hybridLow: Number(c.hybridLow ?? 0),
      },
    };
  }
  return action;
}

/** Send a control message to a connected worker and wait for its ControlAck (or a timeout). */
export function sendControl(
  workerId: string,
  w: WorkerState | undefined,
  action: ControlAction,
): Promise<ControlReply> {
  if (!w?.call)
    return Promise.resolve({ ok: false, code: 'unavailable', message: `worker ${workerId} is not connected` });
  const controlId = w.nextControlId++;
  return new Promise<ControlReply>((resolve) => {
    const timer = setTimeout(() => {
      w.controls.delete(controlId);
      resolve({ ok: false, code: 'timeout', message: 'the worker did not answer the control message in time' });
    }, CONTROL_TIMEOUT_MS);
    timer.unref();
    w.controls.set(controlId, (reply) => {
      clearTimeout(timer);
      resolve(reply);
    });
    w.send({ control: { controlId, ...toWireControl(action) } });
  });
}
