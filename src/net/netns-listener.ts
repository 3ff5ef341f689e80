/**
 * A TCP listener inside another process's network namespace, owned by this process.
 *
 * Node cannot enter a namespace itself, so a one-shot helper runs under
 * `nsenter --net=/proc/<pid>/ns/net`, binds the address there and hands the listening socket
 * back over the IPC channel, then exits. Connections to that address inside the sandbox arrive
 * here, in the worker, with nothing left running in the sandbox: this is the "forwarder" that
 * makes HTTP_PROXY=http://127.0.0.1:<port> work in a namespace that has only a loopback.
 * A socket keeps its namespace: closing the server releases it.
 */
import { spawn } from 'node:child_process';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../core/errors.ts';

export interface NetnsListenOptions {
  /** A process in the target namespace (e.g. bubblewrap's child, from --info-fd). */
  pid: number;
  port: number;
  host?: string;
  nsenter?: string;
  /** The Node binary for the helper (default this process's). */
  node?: string;
  timeoutMs?: number;
  /** Gives up at once when it fires (the invocation was cancelled or timed out during set-up). */
  signal?: AbortSignal;
}

const HELPER = fileURLToPath(new URL('./netns-listen-helper.mjs', import.meta.url));

export function listenInNetns(options: NetnsListenOptions): Promise<Server> {
  const { pid, port, host = '127.0.0.1', nsenter = 'nsenter', node = process.execPath, timeoutMs = 10_000 } = options;
  const { signal } = options;
  return new Promise<Server>((resolve, reject) => {
    if (signal?.aborted) return reject(new StrataError('cancelled', 'the egress listener was not opened: stopped'));
    const helper = spawn(nsenter, [`--net=/proc/${pid}/ns/net`, '--', node, HELPER, host, String(port)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    let stderr = '';
    let settled = false;
    const done = (err: Error | undefined, server?: Server) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        helper.kill('SIGKILL');
        reject(err);
      } else resolve(server as Server);
    };
    const timer = setTimeout(
      () => done(new StrataError('internal', `the egress listener did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => done(new StrataError('cancelled', 'the egress listener was not opened: stopped'));
    signal?.addEventListener('abort', onAbort, { once: true });
    helper.stderr?.setEncoding('utf8');
    helper.stderr?.on('data', (t: string) => {
      stderr = (stderr + t).slice(-2000);
    });
    helper.on('message', (msg: { ok?: boolean; error?: string }, handle: unknown) => {
      // A socket that arrives after giving up is closed, not leaked.
      if (settled) return void (handle as Server | undefined)?.close?.();
      if (msg?.ok && handle) done(undefined, handle as Server);
      else done(new StrataError('internal', `the egress listener failed: ${msg?.error ?? 'no socket received'}`));
    });
    helper.once('error', (err) => done(new StrataError('internal', `cannot run ${nsenter}: ${err.message}`)));
    helper.once('exit', (code) =>
      done(
        new StrataError(
          'internal',
          `the egress listener helper exited (${code}) before handing over its socket: ${stderr.trim()}`,
        ),
      ),
    );
  });
}
