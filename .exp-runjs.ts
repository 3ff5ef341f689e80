import { mkdirSync, writeFileSync } from 'node:fs';
import { runJs } from './sandboxes/wasm/component/run-js.ts';
import { rewriteModule } from './sandboxes/wasm/js-engine/rewrite.ts';

const sources: Record<string, string> = {
  conf: `export default async function (input, ctx) {
  const seen = { keys: Object.keys(ctx).sort(), frozen: Object.isFrozen(ctx), fn: ctx.function, types: [typeof ctx.executionId, typeof ctx.deadline, typeof ctx.log, typeof setTimeout, typeof clearTimeout, typeof setInterval, typeof clearInterval] };
  console.log('one', 1, { a: 1 });
  ctx.log('two');
  console.warn('three');
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 30));
  const waited = Date.now() - t0;
  let ticks = 0;
  await new Promise((r) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); r(); } }, 5); });
  setTimeout(() => ctx.log('never'), 10000);
  console.error('four', new Error('e1').message);
  return { seen, waited, ticks, input, left: ctx.deadline - Date.now() };
}`,
  sync: `export default function (input, ctx) { ctx.log('hi', input.name); setTimeout(() => ctx.log('never'), 0); return { greeting: 'Hello, ' + input.name + '!', t: typeof setTimeout }; }`,
  throws: `export default function () { throw new TypeError('boom'); }`,
  never: `export default () => new Promise(() => {})`,
};
for (const engine of ['starlingmonkey', 'quickjs']) {
  for (const [name, src] of Object.entries(sources)) {
    const { body, asyncBody } = rewriteModule(src);
    mkdirSync('/tmp/wexp/fn', { recursive: true });
    const file = `/tmp/wexp/fn/${name}.js`;
    writeFileSync(file, body);
    for (let i = 0; i < (name === 'sync' ? 20 : 1); i++) {
      const t = performance.now();
      const out = await runJs({
        engineDir: `/tmp/wexp/eng-${engine}`,
        sourceFile: file,
        asyncBody,
        inputJson: '{"name":"Ada"}',
        ctx: { executionId: 'e1', name: 'f', version: 3 },
        deadline: Date.now() + 2000,
        resultBytes: 65536,
        logBytes: 4096,
        memoryCapBytes: 1024 * 65536,
      });
      if (i === 0 || i === 19) console.log(engine, name, (performance.now() - t).toFixed(1), JSON.stringify(out));
    }
  }
}
