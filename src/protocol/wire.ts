/** Small pure helpers shared by both ends of the link: modes, chunking, ids, auth metadata. */

export type LinkMode = 'push' | 'pull';
export type ModePolicy = 'push' | 'pull' | 'hybrid';

const MODE_TO_WIRE = {
  push: 'DISPATCH_MODE_PUSH',
  pull: 'DISPATCH_MODE_PULL',
  hybrid: 'DISPATCH_MODE_HYBRID',
} as const;

export const modeToWire = (mode: ModePolicy) => MODE_TO_WIRE[mode];

export function modeFromWire(value: string | number | null | undefined): ModePolicy | undefined {
  if (value === 'DISPATCH_MODE_PUSH' || value === 1) return 'push';
  if (value === 'DISPATCH_MODE_PULL' || value === 2) return 'pull';
  if (value === 'DISPATCH_MODE_HYBRID' || value === 3) return 'hybrid';
  return undefined;
}

/** Room kept for the envelope around a chunk's payload (ids, offsets, proto framing). */
export const CHUNK_OVERHEAD = 16 * 1024;

/** Payload bytes per chunk so a message stays below `maxMessageBytes`. */
export const chunkSize = (maxMessageBytes: number): number => Math.max(1024, maxMessageBytes - CHUNK_OVERHEAD);

/** Split `data` into slices of at most `size` bytes (one empty slice for empty data). */
export function chunks(data: Uint8Array, size: number): Uint8Array[] {
  if (data.byteLength <= size) return [data];
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < data.byteLength; offset += size) out.push(data.subarray(offset, offset + size));
  return out;
}

/** The executor's id for one attempt of a Master task. */
export const executionIdOf = (taskId: string, attempt: number): string => `${taskId}-a${attempt}`;

export const bearer = (token: string): string => `Bearer ${token}`;

/** "host:port[,host:port]" or a list -> a clean list of addresses. */
export function parseAddresses(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [];
  return list.map((s) => String(s).trim()).filter(Boolean);
}

/** "zone=a,gpu=no" -> {zone: 'a', gpu: 'no'} (the link.labels setting). */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}
