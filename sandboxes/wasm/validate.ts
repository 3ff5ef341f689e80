/**
 * Upload checks for core modules, before anything is stored: magic bytes, section layout,
 * WebAssembly.validate, imports against the allowlist, memory features and sizes, and the
 * entry point. A refusal is StrataError('invalid_code') naming the offending import or section.
 */
import { StrataError } from '../../src/core/errors.ts';
import { binaryKind, inspectModule, type ModuleFacts } from './binary/sections.ts';
import { PREVIEW1_FUNCTIONS, PREVIEW1_MODULE } from './wasi/preview1-names.ts';

/** `module.name` of every import a guest may have: the WASI preview1 functions we implement. */
export const DEFAULT_IMPORT_ALLOWLIST: ReadonlySet<string> = new Set(
  PREVIEW1_FUNCTIONS.map((name) => `${PREVIEW1_MODULE}.${name}`),
);

export interface ModulePolicy {
  /** Largest memory, in 64 KiB pages, a module may start with (its maximum is rewritten to this). */
  capPages: number;
  /** The export to call (plain/reactor modules); absent means a WASI command (`_start`). */
  entry?: string | undefined;
  /** Extra host functions granted by the function's permissions (`module.name`). */
  extraImports?: ReadonlySet<string>;
}

export type CallStyle = 'command' | 'entry';

export interface ValidatedModule {
  facts: ModuleFacts;
  style: CallStyle;
  /** `_start` for commands, else the entry export. */
  entry: string;
  /** Exports `_initialize` (a WASI reactor): called once before the entry. */
  reactor: boolean;
}

const refuse = (message: string, details?: Record<string, unknown>): StrataError =>
  new StrataError('invalid_code', message, details);

/** Throws invalid_code unless `bytes` start like a WASM binary; says which kind it is. */
export function checkMagic(bytes: Uint8Array): 'module' | 'component' {
  const kind = binaryKind(bytes);
  if (kind) return kind;
  if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d) {
    throw refuse('unsupported WebAssembly version in the preamble; upload a core module (version 1) or a component');
  }
  throw refuse('not a WebAssembly binary: the upload does not start with the magic bytes \\0asm', {
    section: 'preamble',
  });
}

export function validateCoreModule(bytes: Uint8Array, policy: ModulePolicy): ValidatedModule {
  if (checkMagic(bytes) !== 'module') throw refuse('expected a core module, got a component');
  let facts: ModuleFacts;
  try {
    facts = inspectModule(bytes);
  } catch (error) {
    throw refuse(`malformed module: ${(error as Error).message}`, { section: 'layout' });
  }
  if (!WebAssembly.validate(bytes)) {
    let why = 'WebAssembly.validate refused it';
    try {
      new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    } catch (error) {
      why = (error as Error).message;
    }
    throw refuse(`invalid module: ${why}`, { section: 'code' });
  }
  checkImports(facts, policy);
  checkMemories(facts, policy.capPages);
  return { facts, ...checkEntry(facts, policy.entry) };
}

function checkImports(facts: ModuleFacts, policy: ModulePolicy): void {
  const refused: string[] = [];
  for (const imp of facts.imports) {
    const key = `${imp.module}.${imp.name}`;
    const allowed =
      imp.kind === 'function' && (DEFAULT_IMPORT_ALLOWLIST.has(key) || policy.extraImports?.has(key) === true);
    if (!allowed) refused.push(imp.kind === 'function' ? key : `${key} (${imp.kind})`);
  }
  if (refused.length === 0) return;
  const shown = refused.slice(0, 5).join(', ') + (refused.length > 5 ? ` and ${refused.length - 5} more` : '');
  const memoryImport = facts.imports.some((i) => i.kind === 'memory');
  throw refuse(
    `refused import ${shown}: only WASI preview1 functions (${PREVIEW1_MODULE}) and host functions granted by permissions may be imported` +
      (memoryImport ? '; a module must define its own memory rather than import one' : ''),
    { section: 'import', imports: refused },
  );
}

function checkMemories(facts: ModuleFacts, capPages: number): void {
  facts.memories.forEach((memory, index) => {
    if (memory.shared)
      throw refuse(`memory ${index} is shared (threads proposal); shared memory is not supported`, {
        section: 'memory',
      });
    if (memory.memory64)
      throw refuse(`memory ${index} is a 64-bit memory (memory64); it is not supported`, { section: 'memory' });
    if (memory.customPageSize)
      throw refuse(`memory ${index} uses custom page sizes; they are not supported`, { section: 'memory' });
    if (memory.min > capPages) {
      throw refuse(
        `memory ${index} declares an initial size of ${memory.min} pages (${(memory.min * 65536) / 1024 ** 2} MiB), above the memory limit of ${capPages} pages (${(capPages * 65536) / 1024 ** 2} MiB); lower its initial size or raise limits.memoryMb`,
        { section: 'memory' },
      );
    }
  });
}

function checkEntry(facts: ModuleFacts, entry: string | undefined): Omit<ValidatedModule, 'facts'> {
  const fn = (name: string) => facts.exports.some((e) => e.name === name && e.kind === 'function');
  const reactor = fn('_initialize');
  if (entry !== undefined && entry !== '_start') {
    if (!fn(entry)) {
      const names = facts.exports.filter((e) => e.kind === 'function').map((e) => e.name);
      throw refuse(
        `the module does not export a function named "${entry}" (entry); it exports: ${names.join(', ') || 'nothing'}`,
        {
          section: 'export',
        },
      );
    }
    return { style: 'entry', entry, reactor };
  }
  if (!fn('_start')) {
    throw refuse('the module exports no _start (a WASI command); set "entry" in the manifest to the export to call', {
      section: 'export',
    });
  }
  return { style: 'command', entry: '_start', reactor: false };
}
