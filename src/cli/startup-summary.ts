/**
 * What a person sees when `strata serve` starts in a terminal: where it listens, where data
 * goes, which tiers are up (and why the others are not), and how to deploy a first function.
 * Not printed when stdout is a pipe: there the JSON log lines say the same.
 */
import type { TierHealth } from '../core/driver.ts';

export interface SummaryFacts {
  url: string;
  dataDir: string;
  version: string;
  tiers: Partial<Record<string, TierHealth>>;
  masters: readonly string[];
  auth: boolean;
}

export function startupSummary(facts: SummaryFacts, colour = false): string {
  const bold = (t: string) => (colour ? `\x1b[1m${t}\x1b[0m` : t);
  const ok = (t: string) => (colour ? `\x1b[32m${t}\x1b[0m` : t);
  const no = (t: string) => (colour ? `\x1b[33m${t}\x1b[0m` : t);
  const dim = (t: string) => (colour ? `\x1b[2m${t}\x1b[0m` : t);
  const tiers = Object.entries(facts.tiers).map(([tier, health]) =>
    health?.available
      ? `    ${ok('✓')} ${tier}`
      : `    ${no('✗')} ${tier} ${dim(`— ${health?.reason ?? 'not available'}`)}`,
  );
  const url = facts.url;
  const target = url === 'http://127.0.0.1:8080' ? '' : ` --url ${url}`;
  const lines = [
    '',
    `${bold(`Strata worker ${facts.version}`)} listening on ${bold(url)}`,
    `  data      ${facts.dataDir}`,
    `  auth      ${facts.auth ? 'API keys required (docs/tenants.md)' : 'open (no API keys): keep it on loopback'}`,
    ...(facts.masters.length ? [`  masters   ${facts.masters.join(', ')}`] : []),
    '  tiers',
    ...tiers,
    '',
    '  A first function, from another terminal:',
    `    npm run strata -- fn deploy udf-examples/js/hello.js${target}`,
    `    npm run strata -- fn invoke hello --data '{"name":"Ada"}'${target}`,
    `  ${dim('More in udf-examples/README.md. Stop with Ctrl-C.')}`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}
