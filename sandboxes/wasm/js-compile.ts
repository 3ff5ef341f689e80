/**
 * Compiles one JS function into a standalone component of the `function` world
 * (wit/strata.wit), for looking at or running elsewhere (udf-examples, the benchmark). This is
 * NOT how the worker deploys JS: it builds one engine component per engine and runs every
 * function's source in it (js-engine/, docs/wasm-tier.md "JS"), which takes milliseconds per
 * function instead of seconds. Here ctx has the contracted members, with `log` going to the
 * component's stdout, and no timers beyond the engine's own.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../../src/core/errors.ts';

import type { JsEngine } from './js-engine/build-engine.ts';

export { type JsEngine, type JsEngineChoice, pickEngine } from './js-engine/build-engine.ts';

export const WIT_DIR = fileURLToPath(new URL('../../wit/', import.meta.url));
export const WIT_WORLD = 'function';

/** Wraps the user's module: their default export becomes the component's run(). */
export function wrapSource(source: string): string {
  // The user's module text is placed as-is; its default export is re-bound under a local name.
  const body = source.replace(/export\s+default\s+/, 'const __strataUserDefault = ');
  if (body === source) {
    throw new StrataError(
      'invalid_code',
      'a JS function must have a default export: export default async function (input, ctx) { ... }',
    );
  }
  return `${body}
const __strataText = (value) => (value === undefined ? 'null' : JSON.stringify(value));
export function run(input) {
  const ctx = Object.freeze({
    executionId: 'standalone',
    function: Object.freeze({ name: 'standalone', version: 0 }),
    deadline: Number.MAX_SAFE_INTEGER,
    log: (...args) => console.log(...args),
  });
  const value = __strataUserDefault(JSON.parse(input), ctx);
  // A promise is handed back to the engine, which drains its job queue before returning.
  if (value && typeof value.then === 'function') return value.then(__strataText);
  return __strataText(value);
}
`;
}

export async function compileJsComponent(source: string, engine: JsEngine): Promise<Uint8Array> {
  const wrapped = wrapSource(source);
  try {
    if (engine === 'quickjs') {
      const { componentize } = await import('componentize-qjs');
      const { component } = await componentize({ witPath: WIT_DIR, jsSource: wrapped, world: WIT_WORLD, sync: true });
      return new Uint8Array(component);
    }
    const { componentize } = await import('@bytecodealliance/componentize-js');
    // The (source, options) form is supported but not in the package's typings.
    const compile = componentize as unknown as (source: string, options: object) => Promise<{ component: Uint8Array }>;
    const { component } = await compile(wrapped, {
      // The engine reads WIT through its own sandboxed fs; pass the text, not a path.
      witWorld: readFileSync(`${WIT_DIR}strata.wit`, 'utf8'),
      worldName: WIT_WORLD,
      disableFeatures: ['http', 'fetch-event'],
    });
    return component;
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw new StrataError(
      'invalid_code',
      `the JS function cannot be compiled to a component: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`,
    );
  }
}
