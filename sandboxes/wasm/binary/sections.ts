/**
 * A small reader for the parts of a WASM binary this tier checks or rewrites: the preamble
 * (core module or component), imports, memories and exports. Everything else is left to
 * WebAssembly.validate; we only walk section headers and the few sections we need.
 */
import { type Cursor, readByte, readName, readU } from './leb.ts';

export const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d] as const;

export type BinaryKind = 'module' | 'component';

export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset one past the last content byte. */
  end: number;
}

export interface Limits {
  min: number;
  max?: number;
  shared: boolean;
  memory64: boolean;
  /** Custom page sizes proposal (flag bit 3). */
  customPageSize: boolean;
}

export type ImportKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
export interface ImportEntry {
  module: string;
  name: string;
  kind: ImportKind;
  /** Memory limits when kind is memory. */
  limits?: Limits;
}

export type ExportKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
export interface ExportEntry {
  name: string;
  kind: ExportKind;
  index: number;
}

export interface ModuleFacts {
  sections: Section[];
  imports: ImportEntry[];
  /** Memories defined by the module itself (memory section), in order. */
  memories: Limits[];
  exports: ExportEntry[];
  hasStartSection: boolean;
}

const KINDS: readonly ImportKind[] = ['function', 'table', 'memory', 'global', 'tag'];

/** Which binary format this is, from the 8-byte preamble; undefined when it is not WASM at all. */
export function binaryKind(bytes: Uint8Array): BinaryKind | undefined {
  if (bytes.length < 8) return undefined;
  for (let i = 0; i < 4; i++) if (bytes[i] !== WASM_MAGIC[i]) return undefined;
  const version = (bytes[4] as number) | ((bytes[5] as number) << 8);
  const layer = (bytes[6] as number) | ((bytes[7] as number) << 8);
  if (version === 1 && layer === 0) return 'module';
  if (layer === 1) return 'component';
  return undefined;
}

/** Section boundaries of a core module (throws RangeError on a malformed layout). */
export function readSections(bytes: Uint8Array): Section[] {
  const cursor: Cursor = { bytes, pos: 8 };
  const sections: Section[] = [];
  while (cursor.pos < bytes.length) {
    const start = cursor.pos;
    const id = readByte(cursor);
    const size = readU(cursor);
    const contentStart = cursor.pos;
    const end = contentStart + size;
    if (end > bytes.length) throw new RangeError(`section ${id} runs past the end of the module (truncated upload?)`);
    sections.push({ id, start, contentStart, end });
    cursor.pos = end;
  }
  return sections;
}

export function readLimits(cursor: Cursor): Limits {
  const flags = readByte(cursor);
  if (flags > 0x0f) throw new RangeError(`unknown limits flags 0x${flags.toString(16)}`);
  const memory64 = (flags & 0x04) !== 0;
  const bits = memory64 ? 64 : 32;
  const min = readU(cursor, bits);
  const max = (flags & 0x01) !== 0 ? readU(cursor, bits) : undefined;
  const customPageSize = (flags & 0x08) !== 0;
  if (customPageSize) readU(cursor);
  const limits: Limits = { min, shared: (flags & 0x02) !== 0, memory64, customPageSize };
  if (max !== undefined) limits.max = max;
  return limits;
}

function skipValType(cursor: Cursor): void {
  const byte = readByte(cursor);
  // (ref null? ht): a heap type follows as a signed LEB.
  if (byte === 0x63 || byte === 0x64) readU(cursor, 33);
}

function readImport(cursor: Cursor): ImportEntry {
  const module = readName(cursor);
  const name = readName(cursor);
  const tag = readByte(cursor);
  const kind = KINDS[tag];
  if (kind === undefined) throw new RangeError(`import ${module}.${name} has an unknown kind 0x${tag.toString(16)}`);
  const entry: ImportEntry = { module, name, kind };
  if (kind === 'function') readU(cursor);
  else if (kind === 'table') {
    skipValType(cursor);
    readLimits(cursor);
  } else if (kind === 'memory') entry.limits = readLimits(cursor);
  else if (kind === 'global') {
    skipValType(cursor);
    readByte(cursor);
  } else {
    readByte(cursor);
    readU(cursor);
  }
  return entry;
}

/** Imports, memories and exports of a core module. */
export function inspectModule(bytes: Uint8Array): ModuleFacts {
  const sections = readSections(bytes);
  const facts: ModuleFacts = { sections, imports: [], memories: [], exports: [], hasStartSection: false };
  for (const section of sections) {
    const cursor: Cursor = { bytes: bytes.subarray(0, section.end), pos: section.contentStart };
    if (section.id === 2) {
      const count = readU(cursor);
      for (let i = 0; i < count; i++) facts.imports.push(readImport(cursor));
    } else if (section.id === 5) {
      const count = readU(cursor);
      for (let i = 0; i < count; i++) facts.memories.push(readLimits(cursor));
    } else if (section.id === 7) {
      const count = readU(cursor);
      for (let i = 0; i < count; i++) {
        const name = readName(cursor);
        const tag = readByte(cursor);
        const kind = KINDS[tag];
        if (kind === undefined) throw new RangeError(`export ${name} has an unknown kind`);
        facts.exports.push({ name, kind, index: readU(cursor) });
      }
    } else if (section.id === 8) {
      facts.hasStartSection = true;
    }
  }
  return facts;
}
