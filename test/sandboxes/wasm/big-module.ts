/**
 * A core module with `count` small functions (each a block, a loop and a constant), built as
 * bytes in milliseconds: large enough that fuel metering it with binaryen takes seconds, the
 * work that must never run on the serving thread. Exports `f0` (returns 7) and `memory`.
 */
const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const section = (id: number, body: number[] | Uint8Array): Uint8Array => {
  const size = leb(body.length);
  const out = new Uint8Array(1 + size.length + body.length);
  out[0] = id;
  out.set(size, 1);
  out.set(body, 1 + size.length);
  return out;
};
const name = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];

export function bigModule(count: number): Uint8Array {
  const types = [1, 0x60, 0, 1, 0x7f];
  const funcs = new Uint8Array([...leb(count), ...new Array(count).fill(0)]);
  const memory = [1, 0x00, 1];
  const exports = [2, ...name('f0'), 0x00, 0, ...name('memory'), 0x02, 0];
  // local decls 0; block; loop; i32.const 0; br_if 0; end; end; i32.const 7; end
  const body = [0x00, 0x02, 0x40, 0x03, 0x40, 0x41, 0x00, 0x0d, 0x00, 0x0b, 0x0b, 0x41, 0x07, 0x0b];
  const entry = [...leb(body.length), ...body];
  const countBytes = leb(count);
  const code = new Uint8Array(countBytes.length + entry.length * count);
  code.set(countBytes, 0);
  for (let i = 0; i < count; i++) code.set(entry, countBytes.length + i * entry.length);
  const parts = [
    new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    section(1, types),
    section(3, funcs),
    section(5, memory),
    section(7, exports),
    section(10, code),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
