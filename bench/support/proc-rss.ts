/**
 * Resident memory of a process and all its descendants from /proc (Linux only; an empty list
 * elsewhere): VmRSS from /proc/<pid>/status, and Pss from /proc/<pid>/smaps_rollup where
 * readable (RSS counts shared pages, such as the node binary, once per process; PSS splits them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface ProcessMemory {
  pid: number;
  /** The command line, shortened (paths to their last part, at most 60 characters). */
  name: string;
  rssMb: number;
  pssMb?: number;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

const kbField = (text: string | undefined, field: string): number | undefined => {
  const m = text?.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : undefined;
};

export const shortName = (pid: number): string => {
  const args = (read(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean);
  const text = args.map((a) => (a.startsWith('/') ? basename(a) : a)).join(' ') || String(pid);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** `pid` and every process below it, parents first. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    const stat = read(`/proc/${e}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  if (read(`/proc/${pid}/stat`)) walk(pid);
  return out;
}

/** Memory of `pid` and its descendants, one entry per process. */
export function memoryTree(pid: number): ProcessMemory[] {
  const out: ProcessMemory[] = [];
  for (const p of descendants(pid)) {
    const rssKb = kbField(read(`/proc/${p}/status`), 'VmRSS');
    if (rssKb === undefined) continue; // gone meanwhile, or a zombie
    const pssKb = kbField(read(`/proc/${p}/smaps_rollup`), 'Pss');
    out.push({
      pid: p,
      name: shortName(p),
      rssMb: Math.round(rssKb / 102.4) / 10,
      ...(pssKb !== undefined ? { pssMb: Math.round(pssKb / 102.4) / 10 } : {}),
    });
  }
  return out;
}
