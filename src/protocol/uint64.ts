/**
 * uint64 on the wire. The loader hands every uint64 over as a decimal string (`longs: String`), so
 * nothing is rounded through a double: an epoch of 2^53 + 1 comes back as 2^53 + 1. Values a side
 * only echoes (epochs, control ids) stay strings; values it counts with (sizes, offsets, sequence
 * numbers) become numbers, and one beyond 2^53 - 1 is a protocol violation, not a silent rounding.
 */

export type U64 = string;

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
const MAX_U64 = (1n << 64n) - 1n;

/** A uint64 from the loader (string), or a number/bigint from our own code, as a decimal string. */
export function u64(value: string | number | bigint | null | undefined): U64 {
  if (value === null || value === undefined || value === '') return '0';
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_U64) throw new RangeError(`${value} is not a uint64`);
    return value.toString();
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${value} is not a safe uint64`);
    return String(value);
  }
  if (!DECIMAL.test(value) || BigInt(value) > MAX_U64) throw new RangeError(`"${value}" is not a uint64`);
  return value;
}

/** A uint64 this side counts with: a number, or a RangeError beyond Number.MAX_SAFE_INTEGER. */
export function u64Number(value: string | number | null | undefined, field = 'value'): number {
  if (value === null || value === undefined || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(u64(value));
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${field} ${value} is beyond 2^53 - 1`);
  return n;
}

/** Like u64Number, but undefined instead of throwing (a peer's epoch this side never issued). */
export function u64NumberOrUndefined(value: string | number | null | undefined): number | undefined {
  try {
    return u64Number(value);
  } catch {
    return undefined;
  }
}
