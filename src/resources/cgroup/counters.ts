/** Parsers for cgroup counter files (pure; fed file text). */

/** "key value" lines (cpu.stat, memory.stat, memory.events, memory.oom_control, pids.events). */
export function parseFlatKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && Number.isFinite(Number(value))) out[key] = Number(value);
  }
  return out;
}

export interface IoBytes {
  read: number;
  write: number;
}

/**
 * v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 ..." per device; summed over devices (or over
 * `only`, when given: a loop device's traffic also shows on the disk behind it).
 */
export function parseIoStat(text: string | undefined, only?: ReadonlySet<string>): IoBytes | undefined {
  if (text === undefined) return undefined;
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    if (only && !only.has(line.trim().split(/\s+/)[0] ?? '')) continue;
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = field.split('=');
      if (k === 'rbytes') read += Number(v) || 0;
      if (k === 'wbytes') write += Number(v) || 0;
    }
  }
  return { read, write };
}

/** v1 blkio.throttle.io_service_bytes: "8:0 Read 123" lines (and "Total"); summed over devices (or `only`). */
export function parseBlkioServiceBytes(text: string | undefined, only?: ReadonlySet<string>): IoBytes | undefined {
  if (text === undefined) return undefined;
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const [dev, op, value] = line.trim().split(/\s+/);
    if (!dev?.includes(':')) continue;
    if (only && !only.has(dev)) continue;
    if (op === 'Read') read += Number(value) || 0;
    if (op === 'Write') write += Number(value) || 0;
  }
  return { read, write };
}

/** /proc/<pid>/net/dev: rx/tx bytes summed over every interface but loopback. */
export function parseNetDev(text: string | undefined, includeLoopback = false): { rx: number; tx: number } | undefined {
  if (text === undefined) return undefined;
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || !name) continue;
    if (name.trim() === 'lo' && !includeLoopback) continue;
    const cols = rest.trim().split(/\s+/).map(Number);
    rx += cols[0] ?? 0;
    tx += cols[8] ?? 0;
  }
  return { rx, tx };
}
