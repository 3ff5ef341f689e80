/**
 * Compiles a standard-trust JS function into a component of the Strata world (wit/strata.wit),
 * at deploy time. Two engines are available: StarlingMonkey (@bytecodealliance/componentize-js)
 * and QuickJS (componentize-qjs); docs/wasm-tier.md has the measurements behind `auto`.
 *
 * The user writes `export default async function (input, ctx) {...}` (DESIGN.md); a small
 * wrapper exports `run(inputJson) -> string`. Async results cannot be awaited inside a
 * synchronous component call, so a function returning a promise that does not settle within
 * the call's microtasks fails with a clear message.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../../src/core/errors.ts';

export type JsEngine = 'starlingmonkey' | 'quickjs';
export type JsEngineChoice = JsEngine | 'auto';

/**
 * `auto`: QuickJS (1.5 MiB, ~1 s to build, a few ms per call) for synchronous functions, and
 * StarlingMonkey (11 MiB, several seconds to build, ~25 ms per call) when the source may
 * produce a promise, because QuickJS's synchronous runtime cannot wait on one.
 */
export function pickEngine(source: string, choice: JsEngineChoice): JsEngine {
  if (choice !== 'auto') return choice;
  return /\basync\b|\bawait\b|\bPromise\b|\.then\s*\(/.test(source) ? 'starlingmonkey' : 'quickjs';
}

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
  const value = __strataUserDefault(JSON.parse(input), { tier: 'wasm' });
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
