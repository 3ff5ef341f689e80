/**
 * A guest worker thread: one execution slot. It keeps the compiled modules it was sent (by key)
 * and makes a new instance for every invocation. The host terminates the whole thread on a
 * deadline or cancel, so nothing here needs to be interruptible.
 */
import { parentPort } from 'node:worker_threads';
import type { CoreRunResult } from '../run-core.ts';
import { runCore } from '../run-core.ts';
import type { ThreadReply, ThreadRequest } from './protocol.ts';

const modules = new Map<string, WebAssembly.Module>();
const MAX_MODULES = 64;

async function handle(req: ThreadRequest): Promise<CoreRunResult> {
  if (req.meta.kind === 'js') {
    const { runJs } = await import('../component/run-js.ts');
    return runJs({
      engineDir: req.meta.engineDir,
      sourceFile: req.meta.sourceFile,
      asyncBody: req.meta.asyncBody,
      inputJson: req.inputJson,
      ctx: req.ctx,
      deadline: req.deadline,
      resultBytes: req.resultBytes,
      logBytes: req.logBytes,
      memoryCapBytes: req.meta.maxPages * 65536,
    });
  }
  if (req.meta.kind === 'component') {
    const { runComponent } = await import('../component/run-component.ts');
    return runComponent({
      dir: req.meta.dir,
      inputJson: req.inputJson,
      resultBytes: req.resultBytes,
      logBytes: req.logBytes,
      memoryCapBytes: req.meta.maxPages * 65536,
      tempDir: req.tempDir,
      tmpBytes: req.tmpBytes ?? 0,
    });
  }
  let module = modules.get(req.key);
  if (req.module) {
    module = req.module;
    if (modules.size >= MAX_MODULES) modules.delete(modules.keys().next().value as string);
    modules.set(req.key, module);
  }
  if (!module) throw new Error(`guest thread has no module for ${req.key}`);
  const meta = req.meta;
  // `start` stays prewarmed: the host compiled it before (it says cold when it compiled it now).
  return runCore({
    module,
    style: meta.style,
    entry: meta.entry,
    reactor: meta.reactor,
    metered: meta.metered,
    inputJson: req.inputJson,
    fuel: req.fuel,
    resultBytes: req.resultBytes,
    logBytes: req.logBytes,
    memoryCapBytes: meta.maxPages * 65536,
    tempDir: req.tempDir,
    tmpBytes: req.tmpBytes ?? 0,
  });
}

parentPort?.on('message', (req: ThreadRequest & { has?: string }) => {
  handle(req).then(
    (result) => parentPort?.postMessage({ id: req.id, result } satisfies ThreadReply),
    (error: unknown) =>
      parentPort?.postMessage({
        id: req.id,
        result: {
          status: 'failed',
          logs: '',
          error: { code: 'function_error', message: error instanceof Error ? error.message : String(error) },
        },
      } satisfies ThreadReply),
  );
});
