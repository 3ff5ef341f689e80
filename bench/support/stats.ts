/** Latency summaries and plain-text tables shared by the benchmark runner. */

export interface Summary {
  n: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** Nearest-rank quantiles over the samples (milliseconds). */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) return { n: 0, meanMs: Number.NaN, p50Ms: Number.NaN, p99Ms: Number.NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  return {
    n: sorted.length,
    meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
  };
}

/** The median of the values (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Time `n` sequential calls after `warmup` untimed ones; `fn` throws on a wrong answer. */
export async function timeSequential(
  fn: (i: number) => Promise<unknown>,
  n: number,
  warmup: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await fn(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

/** A fixed-width text table: the first column left-aligned, the others right-aligned. */
export function formatTable(head: string[], body: string[][], leftAligned: number[] = [0]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (leftAligned.includes(i) ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** A Markdown table of the same cells. */
export function markdownTable(head: string[], body: string[][]): string {
  const esc = (c: string) => c.replaceAll('|', '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export const ms = (x: number | undefined, digits = 2): string =>
  x === undefined || Number.isNaN(x) ? '' : x.toFixed(digits);
