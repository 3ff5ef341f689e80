/**
 * Bounding text that came from user code (error messages, stacks) the way the log budget bounds
 * logs: the head and the tail are kept and the middle becomes a marker saying how many bytes were
 * cut. The result is at most `maxBytes` UTF-8 bytes, marker included, and never splits a character.
 */

/** `text` within `maxBytes` UTF-8 bytes; `what` names it in the marker ("error message"). */
export function capText(text: string, maxBytes: number, what = 'text'): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no byte count at all.
  if (text.length * 3 <= maxBytes) return text;
  const total = Buffer.byteLength(text);
  if (total <= maxBytes) return text;
  // The marker's own length depends on the count it shows; size it for the largest count.
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker(total, what)));
  const head = prefixWithin(text, Math.ceil(room / 2));
  const tail = suffixWithin(text, room - Buffer.byteLength(head));
  const cut = total - Buffer.byteLength(head) - Buffer.byteLength(tail);
  return `${head}${marker(cut, what)}${tail}`;
}

const marker = (cut: number, what: string) => `\n…[${cut} bytes of ${what} cut]…\n`;

/** The longest prefix of `text` within `maxBytes` bytes (only that many characters are encoded). */
function prefixWithin(text: string, maxBytes: number): string {
  let part = text.slice(0, maxBytes);
  if (isHighSurrogate(part.charCodeAt(part.length - 1))) part = part.slice(0, -1);
  const bytes = Buffer.from(part);
  if (bytes.length <= maxBytes) return part;
  let end = maxBytes;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString();
}

/** The longest suffix of `text` within `maxBytes` bytes. */
function suffixWithin(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  let part = text.slice(-maxBytes);
  if (isLowSurrogate(part.charCodeAt(0))) part = part.slice(1);
  const bytes = Buffer.from(part);
  if (bytes.length <= maxBytes) return part;
  let start = bytes.length - maxBytes;
  while (start < bytes.length && ((bytes[start] as number) & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString();
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
