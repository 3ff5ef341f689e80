/**
 * Upload-time work for components: transpile once with jco's API into an `instantiate()` glue
 * module plus core wasm files (so the host supplies every import itself), refuse imports we
 * do not implement, and cap each core module's memory. Strata's own JS engine components
 * (js-engine/) go the same way once per engine, with their one extra import allowed.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { transpile } from '@bytecodealliance/jco';
import { StrataError } from '../../src/core/errors.ts';
import { capMemories } from './binary/memory-cap.ts';
import { inspectModule } from './binary/sections.ts';
import { COMPONENT_ENTRY } from './component/run-component.ts';
import { P2_INTERFACES } from './component/wasi-p2.ts';
import type { GuestMeta } from './host/protocol.ts';

type ComponentMeta = Omit<Extract<GuestMeta, { kind: 'component' }>, 'dir'> & { dir?: string; imports: string[] };

const refuse = (message: string, details?: Record<string, unknown>) =>
  new StrataError('invalid_code', message, details);

export interface PrepareComponentOptions {
  /** Interfaces allowed beyond WASI (Strata's own engine-host import, for engine components). */
  extraImports?: readonly string[];
  /** Called as each step ends (name, ms), for the compile report. */
  onStep?: (step: string, ms: number) => void;
}

export async function prepareComponent(
  bytes: Uint8Array,
  dir: string,
  capPages: number,
  options: PrepareComponentOptions = {},
): Promise<ComponentMeta> {
  let began = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    options.onStep?.(name, now - began);
    began = now;
  };
  let out: Awaited<ReturnType<typeof transpile>>;
  try {
    out = await transpile(bytes, {
      name: 'component',
      instantiation: 'async',
      noTypescript: true,
      nodejsCompat: false,
      base64Cutoff: 0,
      quiet: true,
    });
  } catch (error) {
    throw refuse(`invalid component: ${(error as Error).message.split('\n')[0]}`, { section: 'component' });
  }
  step('transpile');
  const allowed = new Set<string>([...P2_INTERFACES, ...(options.extraImports ?? [])]);
  const refused = out.imports.filter((name) => !allowed.has(name.replace(/@[^/]*$/, '')));
  if (refused.length > 0) {
    throw refuse(
      `refused import ${refused.join(', ')}: a component may import only the WASI 0.2 interfaces Strata implements (${P2_INTERFACES.join(', ')})`,
      {
        section: 'import',
        imports: refused,
      },
    );
  }
  if (!out.exports.some(([name, kind]) => name === 'run' && kind === 'function')) {
    throw refuse(
      'the component does not export run: func(input: string) -> string (wit/strata.wit, world "function")',
      {
        section: 'export',
      },
    );
  }
  for (const [name, content] of Object.entries(out.files)) {
    if (name.endsWith('.d.ts')) continue;
    if (name.includes('/')) continue;
    let file = content;
    if (name.endsWith('.wasm')) file = checkCore(name, content, capPages);
    await writeFile(join(dir, name), file);
  }
  if (!out.files[COMPONENT_ENTRY]) throw new StrataError('internal', `jco produced no ${COMPONENT_ENTRY}`);
  step('check');
  return { kind: 'component', maxPages: capPages, imports: out.imports };
}

/**
 * A component's core modules go through the same memory rules as uploaded modules. (Their
 * imports are wired to each other or to the component-level imports checked above.)
 */
function checkCore(name: string, bytes: Uint8Array, capPages: number): Uint8Array {
  const facts = inspectModule(bytes);
  for (const memory of facts.memories) {
    if (memory.shared || memory.memory64)
      throw refuse(`core module ${name} of the component uses shared or 64-bit memory`, { section: 'memory' });
  }
  try {
    return capMemories(bytes, capPages);
  } catch (error) {
    throw refuse(`component core module ${name}: ${(error as Error).message}; raise limits.memoryMb`, {
      section: 'memory',
    });
  }
}

/** Copy a transpiled component from `from` into `to` with every core memory capped at `capPages`. */
export async function capComponentDir(from: string, to: string, capPages: number): Promise<void> {
  for (const name of await readdir(from)) {
    if (name === 'meta.json') continue;
    const content = new Uint8Array(await readFile(join(from, name)));
    await writeFile(join(to, name), name.endsWith('.wasm') ? checkCore(name, content, capPages) : content);
  }
}
