/**
 * The child side of a supervised sandbox host (see host-pool.ts for the protocol). A host
 * installs its handlers with serveHost(); each request gets an AbortSignal that fires when the
 * parent cancels it. The host exits when its parent goes away, so no host outlives the worker.
 * Messages travel on the private channel of host-channel.ts (fd 3), not on Node's IPC.
 */
import { Socket } from 'node:net';
import { isStrataError } from '../../src/core/errors.ts';
import { capText } from '../../src/core/text-cap.ts';
import { batchedWriter, encodeReply, HOST_CHANNEL_FD, RequestFrameReader } from './host-channel.ts';

/** Error replies are bounded here: the worker's frame limit is not a place to ship 50 MB of text. */
const ERROR_MESSAGE_BYTES = 16 * 1024;

export interface HandlerContext {
  /** Fires when the parent cancels this request. */
  signal: AbortSignal;
}

export type Handler = (message: Record<string, unknown>, context: HandlerContext) => unknown | Promise<unknown>;

export function serveHost(kind: string, handlers: Record<string, Handler>): void {
  if (process.env.STRATA_HOST_CHANNEL !== String(HOST_CHANNEL_FD)) {
    console.error(`the ${kind} host must be started by the Strata worker (no host channel)`);
    process.exit(2);
  }
  const channel = new Socket({ fd: HOST_CHANNEL_FD, readable: true, writable: true });
  const write = batchedWriter(channel);
  const send = (message: unknown) => {
    if (!channel.destroyed) write(encodeReply(message));
  };
  process.title = process.env.STRATA_HOST_NAME ?? `strata ${kind} host`;
  // Die with the worker: the channel closes when the parent exits, however it exits.
  channel.on('end', () => process.exit(0));
  channel.on('close', () => process.exit(0));
  channel.on('error', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('unhandledRejection', (reason) => {
    console.error(`unhandled rejection in the ${kind} host:`, reason);
  });

  const running = new Map<number, AbortController>();
  const reader = new RequestFrameReader();
  channel.on('data', (chunk: Buffer) => {
    for (const message of reader.push(chunk)) onMessage(message as Record<string, unknown>);
  });
  const onMessage = (message: Record<string, unknown>) => {
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
    const fail = (err: unknown) => {
      const code = isStrataError(err) ? err.code : 'internal';
      const text = err instanceof Error ? err.message : String(err);
      send({ id, ok: false, error: { code, message: capText(text, ERROR_MESSAGE_BYTES, 'error message') } });
    };
    Promise.resolve()
      .then(() => handler(message, { signal: controller.signal }))
      .then((value) => {
        try {
          send({ id, ok: true, value });
        } catch (err) {
          // A reply JSON cannot carry (a cycle, a BigInt) is our bug, not the function's.
          fail(err);
        }
      }, fail)
      .finally(() => running.delete(id));
  };
  send({ type: 'ready' });
}
