/**
 * Rewrites the maximum of every memory a module defines so that no guest can grow past the cap,
 * whatever it declared (or when it declared no maximum at all). Pure byte surgery on the memory
 * section; every other section is copied as it is.
 */
import { type Cursor, readU, writeU } from './leb.ts';
import { type Limits, readLimits, readSections } from './sections.ts';

export const WASM_PAGE_BYTES = 65536;

function encodeLimits(limits: Limits): number[] {
  return [0x01, ...writeU(limits.min), ...writeU(limits.max ?? limits.min)];
}

/**
 * Returns a copy of `bytes` where each defined memory has max = min(declared max, capPages).
 * Throws RangeError when a memory's initial size is already above the cap (the caller refuses it).
 */
export function capMemories(bytes: Uint8Array, capPages: number): Uint8Array {
  const section = readSections(bytes).find((s) => s.id === 5);
  if (!section) return bytes;
  const cursor: Cursor = { bytes: bytes.subarray(0, section.end), pos: section.contentStart };
  const count = readU(cursor);
  const content: number[] = [...writeU(count)];
  for (let i = 0; i < count; i++) {
    const limits = readLimits(cursor);
    if (limits.min > capPages) {
      throw new RangeError(
        `memory ${i} starts at ${limits.min} pages (${limits.min * 64} KiB), above the cap of ${capPages} pages`,
      );
    }
    const max = Math.min(limits.max ?? capPages, capPages);
    content.push(...encodeLimits({ ...limits, max }));
  }
  const header = [0x05, ...writeU(content.length)];
  const out = new Uint8Array(section.start + header.length + content.length + (bytes.length - section.end));
  out.set(bytes.subarray(0, section.start), 0);
  out.set(header, section.start);
  out.set(content, section.start + header.length);
  out.set(bytes.subarray(section.end), section.start + header.length + content.length);
  return out;
}
