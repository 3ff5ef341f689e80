/**
 * CPU time of the worker process and its children (isolate/wasm hosts) from /proc, to say where
 * the CPU of an invocation goes under load (Linux only; an empty map elsewhere).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { shortName } from './proc-rss.ts';

const TICKS_PER_S = 100; // USER_HZ on Linux

function statOf(pid: number): { ppid: number; cpuMs: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { ppid: Number(fields[1]), cpuMs: ((utime + stime) * 1000) / TICKS_PER_S };
  } catch {
    return undefined;
  }
}

/** CPU ms so far of `pid` ("main") and of each direct child, keyed by a readable name. */
export function cpuTree(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const main = statOf(pid);
  if (!main) return out;
  out.set('worker main process', main.cpuMs);
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    const child = Number(e);
    const s = statOf(child);
    if (s?.ppid !== pid) continue;
    const name = shortName(child);
    out.set(name, (out.get(name) ?? 0) + s.cpuMs);
  }
  return out;
}

/** CPU ms spent between two snapshots, per process name (children that came and went count from 0). */
export function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, ms] of after) out.set(name, ms - (before.get(name) ?? 0));
  return out;
}
