/** Human-readable output for the CLI (`--json` prints the raw API answer instead). */

const line = (label: string, value: unknown) => console.log(`${`${label}:`.padEnd(12)} ${value}`);

export function printRecord(record: Record<string, unknown>): void {
  const fn = record.function as { name: string; version: number; alias?: string } | undefined;
  const usage = (record.usage ?? {}) as Record<string, unknown>;
  line('execution', record.id);
  // The alias it came through, when one was named (a bare name is `latest`, not worth a word).
  if (fn) line('function', `${fn.name} v${fn.version}${fn.alias && fn.alias !== 'latest' ? ` (as @${fn.alias})` : ''}`);
  line('status', record.status);
  line('tier', record.tier ?? '-');
  if (record.status === 'succeeded') line('result', JSON.stringify(record.result));
  const error = record.error as { code: string; message: string } | undefined;
  if (error) line('error', `${error.code}: ${error.message}`);
  const figures = ((usage.measured as string[] | undefined) ?? []).map((k) => {
    const v = usage[k] as number;
    if (k === 'memoryPeakBytes' || k.endsWith('Bytes')) return `${k}=${(v / 1024 ** 2).toFixed(1)}MiB`;
    return `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`;
  });
  if (figures.length) line('usage', figures.join(' '));
  if (typeof record.logs === 'string' && record.logs.length > 0) {
    console.log('logs:');
    process.stdout.write(record.logs.endsWith('\n') ? record.logs : `${record.logs}\n`);
  }
}

export function printFunction(fn: Record<string, unknown>): void {
  line('function', `${fn.name} v${fn.version}`);
  const aliases = fn.aliases as Record<string, number> | undefined;
  if (aliases && Object.keys(aliases).length)
    line(
      'aliases',
      Object.entries(aliases)
        .map(([alias, v]) => `${alias}=v${v}`)
        .join(' '),
    );
  if (Array.isArray(fn.versions)) line('versions', fn.versions.join(', '));
  line('runtime', `${fn.runtime} (${fn.trust})`);
  line('tier', fn.tier ?? `none: ${(fn.placementError as { message?: string } | undefined)?.message ?? '-'}`);
  line('digest', fn.digest);
  if (fn.limits && Object.keys(fn.limits).length) line('limits', JSON.stringify(fn.limits));
  line('created', fn.createdAt);
}

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '-').length)));
  const format = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] as number)).join('  ');
  console.log(format(columns.map((c) => c.toUpperCase())));
  for (const row of rows) console.log(format(columns.map((c) => String(row[c] ?? '-'))));
}

const ms = (value: unknown) => {
  const n = Number(value);
  return n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
};

/**
 * Where a deploy's time went, when the answer says (`compile: {cached, ms, steps}`): steps may
 * be `[{name, ms}]` or `{name: ms}`.
 */
export function compileLine(compile: unknown): string | undefined {
  if (!compile || typeof compile !== 'object') return undefined;
  const c = compile as { cached?: boolean; ms?: number; steps?: unknown; engine?: string };
  let steps: [string, unknown][] = [];
  if (Array.isArray(c.steps)) {
    steps = c.steps.map((s: Record<string, unknown>) => [String(s.name ?? s.step ?? '?'), s.ms ?? s.durationMs]);
  } else if (c.steps && typeof c.steps === 'object') steps = Object.entries(c.steps as Record<string, unknown>);
  const head = c.cached ? `cached${c.ms !== undefined ? ` (${ms(c.ms)})` : ''}` : c.ms !== undefined ? ms(c.ms) : '';
  const detail = steps.length ? ` — ${steps.map(([name, t]) => `${name} ${ms(t)}`).join(', ')}` : '';
  return `${head}${c.engine ? ` [${c.engine}]` : ''}${detail}`.trim() || undefined;
}

export function printDeploy(body: Record<string, unknown>): void {
  if (body.created === false) console.log(`unchanged: ${body.name} v${body.version} already runs this content`);
  else if (typeof body.sameAs === 'number')
    console.log(`deployed ${body.name} v${body.version} (the content of v${body.sameAs}); it runs now`);
  else console.log(`deployed ${body.name} v${body.version}`);
  printFunction(body);
  const compile = compileLine(body.compile);
  if (compile) line('compile', compile);
}
