/**
 * Child process that builds one JS engine component and transpiles it into `dir`
 * (argv: <engine> <dir>). A child, not a thread: componentize-js blocks on wizer and writes
 * scratch files under TMPDIR, which the parent points at a directory it removes afterwards.
 * Reports steps as IPC messages {step, ms}; exits 0 when the directory is complete.
 */
import { buildEngine, ENGINE_HOST_INTERFACE, type JsEngine } from '../js-engine/build-engine.ts';
import { prepareComponent } from '../prepare-component.ts';

/** The engine base keeps its own memory maximum; each function's variant is capped (engine-cap). */
const UNCAPPED_PAGES = 65536;

const [engine, dir] = process.argv.slice(2) as [JsEngine, string];
const step = (name: string, ms: number) => process.send?.({ step: name, ms });
try {
  let began = performance.now();
  const bytes = await buildEngine(engine);
  step('engine-build', performance.now() - began);
  began = performance.now();
  await prepareComponent(bytes, dir, UNCAPPED_PAGES, {
    extraImports: [ENGINE_HOST_INTERFACE],
    onStep: (name, ms) => step(`engine-${name}`, ms),
  });
  process.exitCode = 0;
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
process.disconnect?.();
