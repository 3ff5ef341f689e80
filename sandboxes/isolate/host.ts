/**
 * Entry of an isolate host process: `node sandboxes/isolate/host.ts isolate host <n>`.
 * Started and supervised by the worker (sandboxes/shared/host-pool.ts); never started by hand.
 */
import { StrataError } from '../../src/core/errors.ts';
import { serveHost } from '../shared/host-main.ts';
import { IsolateRuntime, type RunRequest } from './isolate-runtime.ts';

const runtime = new IsolateRuntime({
  maxWarm: Number(process.env.STRATA_ISOLATE_MAX_WARM ?? 256),
  syncCalls: process.env.STRATA_ISOLATE_SYNC_CALLS === 'never' ? 'never' : 'auto',
  ...(process.env.STRATA_ISOLATE_SYNC_STREAK ? { syncStreak: Number(process.env.STRATA_ISOLATE_SYNC_STREAK) } : {}),
  onCatastrophe: (message) => {
    // isolated-vm: V8 lost control of an isolate; the process cannot be trusted to exit cleanly
    // (process.exit can hang on the stuck isolate thread), so end it at once. The pool fails
    // this host's in-flight invocations as sandbox_crashed and starts a replacement.
    console.error(`catastrophic isolate error (${message}); the isolate host ends itself`);
    process.kill(process.pid, 'SIGKILL');
  },
});

/** Sources by digest: the worker sends a function's source once per host, not with every run. */
const sources = new Map<string, string>();

serveHost('isolate', {
  check: async (message) => {
    await runtime.check(message.digest as string, message.source as string);
    sources.set(message.digest as string, message.source as string);
  },
  run: (message, { signal }) => {
    const request = message as unknown as RunRequest;
    if (request.source === undefined) {
      const source = sources.get(request.digest);
      if (source === undefined) throw new StrataError('not_found', `no source for ${request.digest} on this host`);
      request.source = source;
    } else sources.set(request.digest, request.source);
    return runtime.run(request, signal);
  },
  forget: (message) => {
    sources.delete(message.digest as string);
    runtime.forget(message.digest as string);
  },
});
