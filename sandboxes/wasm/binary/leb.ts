/** LEB128 decoding/encoding for the few WASM binary fields this tier reads or rewrites. */

export interface Cursor {
  bytes: Uint8Array;
  pos: number;
}

/** Unsigned LEB128 up to 64 bits; returns a number (exact below 2^53, which covers every size we read). */
export function readU(cursor: Cursor, maxBits = 32): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (cursor.pos >= cursor.bytes.length) throw new RangeError('unexpected end of module while reading a number');
    const byte = cursor.bytes[cursor.pos++] as number;
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
    if (shift >= maxBits + 7) throw new RangeError('integer representation too long');
  }
  return result;
}

export function readByte(cursor: Cursor): number {
  if (cursor.pos >= cursor.bytes.length) throw new RangeError('unexpected end of module');
  return cursor.bytes[cursor.pos++] as number;
}

export function readName(cursor: Cursor): string {
  const length = readU(cursor);
  if (cursor.pos + length > cursor.bytes.length) throw new RangeError('name runs past the end of the module');
  const text = new TextDecoder('utf-8', { fatal: true }).decode(cursor.bytes.subarray(cursor.pos, cursor.pos + length));
  cursor.pos += length;
  return text;
}

export function writeU(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}
