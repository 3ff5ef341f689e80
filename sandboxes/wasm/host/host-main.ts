/**
 * The wasm host process (child of the worker, supervised by HostPool). It keeps compiled
 * modules by key, runs each invocation in a guest worker thread (GuestThreads), makes and
 * removes the per-invocation temp dir, and never runs guest code on its own main thread.
 *
 * argv: <kind> host <index> [threads] [heapMb] [warmThreads]
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capText } from '../../../src/core/text-cap.ts';
import { serveHost } from '../../shared/host-main.ts';
import { makeTempDir, removeTempDir, TEMP_PREFIX } from '../wasi/temp-dir.ts';
import type { HostRunReply, RunMessage } from './protocol.ts';
import { WASM_HOST_ERROR_BYTES } from './reply-schema.ts';
import { GuestThreads } from './thread-pool.ts';

const threads = new GuestThreads({
  size: Math.max(1, Number(process.argv[5] ?? 1)),
  heapMb: Math.max(16, Number(process.argv[6] ?? 64)),
});
const modules = new Map<string, WebAssembly.Module>();
const MAX_MODULES = 256;

/** Remove temp dirs left by wasm hosts that died (their pid is in the name). */
function reapOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(name.slice(TEMP_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      removeTempDir(join(tmpdir(), name));
    }
  }
}

async function run(message: RunMessage, signal: AbortSignal): Promise<HostRunReply> {
  let module: WebAssembly.Module | undefined;
  let compileMs = 0;
  if (message.meta.kind === 'module') {
    module = modules.get(message.key);
    if (!module) {
      if (!message.bytes) return { needBytes: true };
      const began = performance.now();
      module = await WebAssembly.compile(message.bytes as Uint8Array<ArrayBuffer>);
      compileMs = performance.now() - began;
      if (modules.size >= MAX_MODULES) modules.delete(modules.keys().next().value as string);
      modules.set(message.key, module);
    }
  }
  const tempDir = message.tmpBytes ? makeTempDir() : undefined;
  try {
    const outcome = await threads.run(
      {
        key: message.key,
        meta: message.meta,
        inputJson: message.inputJson,
        deadline: message.deadline,
        ctx: message.ctx,
        fuel: message.fuel,
        resultBytes: message.resultBytes,
        logBytes: message.logBytes,
        tempDir,
        tmpBytes: message.tmpBytes,
      },
      module,
      message.deadline,
      signal,
    );
    const base = outcome.result ?? { status: 'killed' as const, logs: '' };
    const reply: HostRunReply = { ...base, wallMs: outcome.wallMs };
    // Guest-made error text is bounded here, before it travels to the worker (limits.errorBytes
    // caps it again in the record).
    if (reply.error)
      reply.error = {
        code: reply.error.code,
        message: capText(reply.error.message, WASM_HOST_ERROR_BYTES, 'error message'),
      };
    // A module this host compiled for this invocation makes it a cold start, whatever the thread saw.
    if (reply.start && compileMs > 0) reply.start = { kind: 'cold', initMs: reply.start.initMs + compileMs };
    if (outcome.timedOut) reply.timedOut = true;
    if (outcome.cancelled) reply.cancelled = true;
    if (outcome.crashed !== undefined) {
      reply.crashed = capText(outcome.crashed, WASM_HOST_ERROR_BYTES, 'error message');
      if (outcome.outOfMemory) {
        reply.status = 'memory_exceeded';
        reply.error = { code: 'memory_exceeded', message: 'the guest thread ran out of heap memory' };
      }
    }
    return reply;
  } finally {
    if (tempDir) removeTempDir(tempDir);
  }
}

reapOrphans();
// The other threads start when concurrent invocations need them (an idle thread holds ~25 MB).
threads.warm(Math.max(1, Number(process.argv[7] ?? 1)));
serveHost('wasm', {
  run: (message, { signal }) => run(message as unknown as RunMessage, signal),
  forget: (message) => {
    modules.delete(message.key as string);
    return true;
  },
  stats: () => ({ modules: modules.size, threads: threads.size }),
});
