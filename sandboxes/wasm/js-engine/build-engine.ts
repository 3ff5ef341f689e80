/**
 * Builds a JS engine component (world `js-engine`): the engine (StarlingMonkey through
 * componentize-js, or QuickJS through componentize-qjs) with wrapper.ts's module snapshotted into
 * it. This is done once per engine and engine version (engineKey), never per function; it runs in
 * a child process (engine-build-main.ts) because componentize-js blocks on wizer.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../transform.ts';
import { WRAPPER_VERSION, wrapperSource } from './wrapper.ts';

export type JsEngine = 'starlingmonkey' | 'quickjs';
export type JsEngineChoice = JsEngine | 'auto';

export const WIT_DIR = fileURLToPath(new URL('../../../wit/', import.meta.url));
export const ENGINE_WORLD = 'js-engine';
export const ENGINE_HOST_INTERFACE = 'strata:udf/engine-host';

/** A package's version, read from its package.json (found from its resolved entry point). */
const versionOf = (pkg: string): string => {
  const entry = fileURLToPath(import.meta.resolve(pkg));
  const marker = `/node_modules/${pkg}/`;
  const root = entry.slice(0, entry.lastIndexOf(marker) + marker.length);
  return (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
};

const ENGINE_PACKAGE: Record<JsEngine, string> = {
  starlingmonkey: '@bytecodealliance/componentize-js',
  quickjs: 'componentize-qjs',
};

const keys = new Map<JsEngine, string>();

/**
 * What an engine component is a function of: the engine package, jco (which transpiles it), the
 * wrapper and the WIT. A change to any of them gives a new key, so a stale engine is never used.
 */
export function engineKey(engine: JsEngine): string {
  let key = keys.get(engine);
  if (!key) {
    key = sha256(
      JSON.stringify({
        engine,
        engineVersion: versionOf(ENGINE_PACKAGE[engine]),
        jco: versionOf('@bytecodealliance/jco'),
        wrapper: WRAPPER_VERSION,
        source: wrapperSource(engine === 'starlingmonkey'),
        wit: readFileSync(`${WIT_DIR}strata.wit`, 'utf8'),
      }),
    );
    keys.set(engine, key);
  }
  return key;
}

/**
 * `auto`: QuickJS (1.5 MiB, a few ms per call) for functions that cannot wait for anything, and
 * StarlingMonkey (12 MiB, an event loop) when the source may produce a promise or await,
 * because QuickJS's synchronous runtime cannot wait on one.
 */
export function pickEngine(source: string, choice: JsEngineChoice, asyncBody = false): JsEngine {
  if (choice !== 'auto') return choice;
  if (asyncBody) return 'starlingmonkey';
  return /\basync\b|\bawait\b|\bPromise\b|\.then\s*\(/.test(source) ? 'starlingmonkey' : 'quickjs';
}

/** The engine component's bytes. Slow (seconds): call it through the engine builder only. */
export async function buildEngine(engine: JsEngine): Promise<Uint8Array> {
  const source = wrapperSource(engine === 'starlingmonkey');
  if (engine === 'quickjs') {
    const { componentize } = await import('componentize-qjs');
    const { component } = await componentize({ witPath: WIT_DIR, jsSource: source, world: ENGINE_WORLD, sync: true });
    return new Uint8Array(component);
  }
  const { componentize } = await import('@bytecodealliance/componentize-js');
  // The (source, options) form is supported but not in the package's typings.
  const compile = componentize as unknown as (source: string, options: object) => Promise<{ component: Uint8Array }>;
  const { component } = await compile(source, {
    // The engine reads WIT through its own sandboxed fs; pass the text, not a path.
    witWorld: readFileSync(`${WIT_DIR}strata.wit`, 'utf8'),
    worldName: ENGINE_WORLD,
    disableFeatures: ['http', 'fetch-event'],
  });
  return component;
}
