import { mkdirSync } from 'node:fs';
import { buildEngine, ENGINE_HOST_INTERFACE } from './sandboxes/wasm/js-engine/build-engine.ts';
import { prepareComponent } from './sandboxes/wasm/prepare-component.ts';

for (const engine of ['quickjs', 'starlingmonkey'] as const) {
  const t = performance.now();
  const bytes = await buildEngine(engine);
  const t2 = performance.now();
  const dir = `/tmp/wexp/eng-${engine}`;
  mkdirSync(dir, { recursive: true });
  await prepareComponent(bytes, dir, 1024, {
    extraImports: [ENGINE_HOST_INTERFACE],
    onStep: (s, ms) => console.log(' ', s, ms | 0),
  });
  console.log(engine, 'build', (t2 - t) | 0, 'prepare', (performance.now() - t2) | 0);
}
