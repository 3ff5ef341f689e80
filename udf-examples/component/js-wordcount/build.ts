/**
 * Builds build/wordcount.component.wasm the way the worker does at deploy time (the default
 * StarlingMonkey engine, or QuickJS with `node build.ts quickjs`). The worker does this itself
 * when the manifest (runtime "js", trust "standard") is deployed with wordcount.js as its
 * source; building here is only to look at or time the output. The output is ~12 MB
 * (StarlingMonkey) or ~1.6 MB (QuickJS), so it is not checked in.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { compileJsComponent, type JsEngine } from '../../../sandboxes/wasm/js-compile.ts';

const engine = (process.argv[2] ?? 'starlingmonkey') as JsEngine;
const here = new URL('./', import.meta.url);
const started = performance.now();
const component = await compileJsComponent(readFileSync(new URL('wordcount.js', here), 'utf8'), engine);
mkdirSync(new URL('build/', here), { recursive: true });
writeFileSync(new URL('build/wordcount.component.wasm', here), component);
console.log(`${engine}: ${component.length} bytes in ${Math.round(performance.now() - started)} ms`);
