/**
 * The per-tier benchmark modules (bench/<tier>.ts), each exporting run() -> rows and, usually,
 * formatRows(rows). Imported lazily so one that cannot load or run gives a skip line, not a
 * failed benchmark.
 */
import { formatTable } from './stats.ts';

export interface TierSection {
  id: string;
  title: string;
  rows: Record<string, unknown>[];
  /** The module's own table, when it has formatRows(). */
  text?: string;
  skipped?: string;
  seconds: number;
}

interface TierModule {
  run?: (options?: Record<string, unknown>) => Promise<Record<string, unknown>[]>;
  formatRows?: (rows: Record<string, unknown>[]) => string;
}

interface ModuleSpec {
  id: string;
  title: string;
  path: string;
  options: (quick: boolean) => Record<string, unknown>;
  /** Some modules read their size from the environment only. */
  env?: (quick: boolean) => Record<string, string>;
}

const MODULES: ModuleSpec[] = [
  {
    id: 'process',
    title: 'Process tier (driver, no HTTP): bash and python3 against a plain spawn',
    path: '../process-tier.ts',
    options: (quick) => ({ n: quick ? 5 : 30 }),
  },
  {
    id: 'wasm',
    title: 'WASM tier (driver, no HTTP): invoke, instantiation, fuel overhead',
    path: '../wasm-tier.ts',
    options: (quick) => ({ n: quick ? 20 : 200, js: !quick }),
  },
  {
    id: 'docker',
    title: 'Docker tier (driver, no HTTP): warm pool vs docker exec vs docker run',
    path: '../docker-tier.ts',
    options: (quick) => ({ n: quick ? 30 : 300, coldN: quick ? 3 : 15 }),
  },
  {
    id: 'plugins',
    title: 'Plugin overhead (executor in-process, instant tier): no host, empty host, one pre + one post plugin',
    path: '../plugins.ts',
    options: (quick) => ({ n: quick ? 300 : 2000 }),
  },
  {
    id: 'link',
    title: 'Master link (gRPC over loopback, no-op executor)',
    path: '../link.ts',
    options: () => ({}),
    env: (quick) => ({ STRATA_BENCH_N: quick ? '100' : '1000' }),
  },
];

export async function runTierModules(options: {
  quick: boolean;
  progress: (line: string) => void;
}): Promise<TierSection[]> {
  const sections: TierSection[] = [];
  for (const spec of MODULES) {
    const started = performance.now();
    const section: TierSection = { id: spec.id, title: spec.title, rows: [], seconds: 0 };
    sections.push(section);
    const saved: Record<string, string | undefined> = {};
    try {
      const mod = (await import(spec.path)) as TierModule;
      if (typeof mod.run !== 'function') {
        section.skipped = `${spec.path} exports no run()`;
        options.progress(`${spec.id}: skipped (${section.skipped})`);
        continue;
      }
      options.progress(`${spec.id}: running ${spec.path} ...`);
      for (const [k, v] of Object.entries(spec.env?.(options.quick) ?? {})) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
      section.rows = await mod.run(spec.options(options.quick));
      if (typeof mod.formatRows === 'function') section.text = mod.formatRows(section.rows);
    } catch (err) {
      section.skipped = `could not run: ${(err as Error).message.split('\n')[0]?.slice(0, 300)}`;
      options.progress(`${spec.id}: ${section.skipped}`);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      section.seconds = Math.round((performance.now() - started) / 100) / 10;
      options.progress(`${spec.id}: done in ${section.seconds} s`);
    }
  }
  return sections;
}

/** A table of whatever fields the rows have (numbers rounded to 3 decimals). */
export function genericTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)';
  const head = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  // Long free-text cells (a skip reason in a row name) are cut so the table stays readable.
  const cell = (v: unknown) => {
    const text = typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : v === undefined ? '' : String(v);
    return text.length > 90 ? `${text.slice(0, 87)}...` : text;
  };
  return formatTable(
    head,
    rows.map((r) => head.map((h) => cell(r[h]))),
    head.map((h, i) => (rows.some((r) => typeof r[h] === 'string') ? i : -1)).filter((i) => i >= 0),
  );
}
