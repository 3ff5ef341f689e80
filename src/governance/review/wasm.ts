/**
 * WASM review over the binary's sections (a real reader of the format, not text matching): what
 * the module imports, whether its memory has a maximum, its size. Components (the component
 * model's layer) are checked for size only.
 */
import type { RawFinding } from './types.ts';

class Reader {
  pos = 0;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error('unexpected end of the module');
    return this.bytes[this.pos++] as number;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 35) throw new Error('a LEB128 number is too long');
    }
  }
  name(): string {
    const len = this.u32();
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return text;
  }
  limits(): { min: number; max?: number } {
    const flags = this.byte();
    const min = this.u32();
    return flags & 1 ? { min, max: this.u32() } : { min };
  }
}

export function reviewWasm(bytes: Uint8Array, maxBytes: number): RawFinding[] {
  const findings: RawFinding[] = [];
  if (bytes.length > maxBytes)
    findings.push({
      rule: 'wasm-size',
      message: `the module is ${bytes.length} bytes (over review.maxWasmBytes ${maxBytes})`,
    });
  // Core modules are version 1; anything else with the magic is a component.
  const version = (bytes[4] ?? 0) | ((bytes[5] ?? 0) << 8);
  if (version !== 1) return findings;
  const r = new Reader(bytes);
  r.pos = 8;
  const memories: { where: string; max?: number }[] = [];
  try {
    while (r.pos < bytes.length) {
      const id = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      if (id === 2) {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          const module = r.name();
          const field = r.name();
          const kind = r.byte();
          const what = ['function', 'table', 'memory', 'global', 'tag'][kind] ?? `kind ${kind}`;
          findings.push({ rule: 'wasm-import', message: `imports ${what} ${module}.${field}` });
          if (kind === 0) r.u32();
          else if (kind === 1) {
            r.byte();
            r.limits();
          } else if (kind === 2) memories.push({ where: `imported ${module}.${field}`, ...r.limits() });
          else if (kind === 3) {
            r.byte();
            r.byte();
          } else if (kind === 4) {
            r.byte();
            r.u32();
          }
        }
      } else if (id === 5) {
        const count = r.u32();
        for (let i = 0; i < count; i++) memories.push({ where: `memory ${i}`, ...r.limits() });
      }
      r.pos = end;
    }
  } catch (err) {
    findings.push({
      rule: 'wasm-parse',
      message: `the module's sections could not be read: ${(err as Error).message}`,
    });
  }
  for (const m of memories)
    if (m.max === undefined)
      findings.push({
        rule: 'wasm-memory-unbounded',
        message: `${m.where} declares no maximum (it may grow to the tier's limit)`,
      });
  return findings;
}
