/**
 * The child side of a supervised sandbox host (see host-pool.ts for the protocol). A host
 * installs its handlers with serveHost(); each request gets an AbortSignal that fires when the
 * parent cancels it. The host exits when its parent goes away, so no host outlives the worker.
 */
import { isStrataError } from '../../src/core/errors.ts';

export interface HandlerContext {
  /** Fires when the parent cancels this request. */
  signal: AbortSignal;
}

export type Handler = (message: Record<string, unknown>, context: HandlerContext) => unknown | Promise<unknown>;

export function serveHost(kind: string, handlers: Record<string, Handler>): void {
  const send = process.send?.bind(process);
  if (!send) {
    console.error(`the ${kind} host must be started by the Strata worker (no IPC channel)`);
    process.exit(2);
  }
  process.title = process.env.STRATA_HOST_NAME ?? `strata ${kind} host`;
  // Die with the worker: the IPC channel closes when the parent exits, however it exits.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('unhandledRejection', (reason) => {
    console.error(`unhandled rejection in the ${kind} host:`, reason);
  });

  const running = new Map<number, AbortController>();
  process.on('message', (message: Record<string, unknown>) => {
    const id = message.id as number;
    if (message.type === 'cancel') {
      running.get(id)?.abort();
      return;
    }
    const handler = handlers[message.type as string];
    if (!handler) {
      send({ id, ok: false, error: { code: 'internal', message: `unknown host request "${String(message.type)}"` } });
      return;
    }
    const controller = new AbortController();
    running.set(id, controller);
    Promise.resolve()
      .then(() => handler(message, { signal: controller.signal }))
      .then(
        (value) => send({ id, ok: true, value }),
        (err: unknown) =>
          send({
            id,
            ok: false,
            error: isStrataError(err)
              ? { code: err.code, message: err.message }
              : { code: 'internal', message: err instanceof Error ? err.message : String(err) },
          }),
      )
      .finally(() => running.delete(id));
  });
  send({ type: 'ready' });
}
