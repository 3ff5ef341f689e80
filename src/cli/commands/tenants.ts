/**
 * `strata tenants ls|quota|usage|audit`: tenants of a worker, their quotas and usage, and the
 * audit log (admin).
 */
import type { Command } from 'commander';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../command-kit.ts';
import { CliError } from '../errors.ts';
import { printTable } from '../print.ts';

type QuotaFlags = ClientFlags & {
  concurrency?: string;
  queued?: string;
  rate?: string;
  burst?: string;
  functions?: string;
  artifactBytes?: string;
  maxMemoryMb?: string;
  maxTimeoutMs?: string;
  maxCpu?: string;
  clear?: boolean;
};

const num = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`--${flag} must be a number, got "${value}"`, 2);
  return n;
};

export function register(program: Command): void {
  const tenants = program.command('tenants').description('tenants: quotas, usage and the audit log (admin)');
  clientCommand(tenants, 'ls', 'list tenants (with keys or quotas) and their quotas')
    .alias('list')
    .action(
      action(async (flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<{ tenants: { id: string; quota: unknown }[] }>(
          'GET',
          '/v1/tenants',
        );
        print(flags, body, () =>
          printTable(
            body.tenants.map((t) => ({ id: t.id, quota: JSON.stringify(t.quota) })),
            ['id', 'quota'],
          ),
        );
      }),
    );
  clientCommand(tenants, 'quota', "show a tenant's quota, or set it with the flags (replaces the whole quota)")
    .argument('<id>', 'the tenant')
    .option('--concurrency <n>', 'invocations running at once')
    .option('--queued <n>', 'invocations waiting (default 0 when --concurrency is set)')
    .option('--rate <n>', 'invocations per second')
    .option('--burst <n>', 'invocations at once after a quiet spell (default: the rate)')
    .option('--functions <n>', 'live functions')
    .option('--artifact-bytes <size>', 'stored code, bytes or "64MiB"')
    .option('--max-memory-mb <n>', 'ceiling on limits.memoryMb')
    .option('--max-timeout-ms <n>', 'ceiling on limits.timeoutMs')
    .option('--max-cpu <n>', 'ceiling on limits.cpu')
    .option('--clear', 'remove every limit of the tenant')
    .action(
      action(async (id: string, flags: QuotaFlags) => {
        const client = clientOf(flags);
        const path = `/v1/tenants/${encodeURIComponent(id)}/quota`;
        const maxLimits = {
          ...(flags.maxMemoryMb !== undefined ? { memoryMb: num('max-memory-mb', flags.maxMemoryMb) } : {}),
          ...(flags.maxTimeoutMs !== undefined ? { timeoutMs: num('max-timeout-ms', flags.maxTimeoutMs) } : {}),
          ...(flags.maxCpu !== undefined ? { cpu: num('max-cpu', flags.maxCpu) } : {}),
        };
        const quota = {
          ...(flags.concurrency !== undefined ? { concurrency: num('concurrency', flags.concurrency) } : {}),
          ...(flags.queued !== undefined ? { queued: num('queued', flags.queued) } : {}),
          ...(flags.rate !== undefined ? { rate: num('rate', flags.rate) } : {}),
          ...(flags.burst !== undefined ? { burst: num('burst', flags.burst) } : {}),
          ...(flags.functions !== undefined ? { functions: num('functions', flags.functions) } : {}),
          ...(flags.artifactBytes !== undefined ? { artifactBytes: flags.artifactBytes } : {}),
          ...(Object.keys(maxLimits).length > 0 ? { maxLimits } : {}),
        };
        const setting = flags.clear || Object.keys(quota).length > 0;
        const { body } = setting
          ? await client.request<{ tenant: string; quota: unknown }>('PUT', path, { body: JSON.stringify(quota) })
          : await client.request<{ tenant: string; quota: unknown }>('GET', path);
        print(flags, body, () => console.log(`${body.tenant}: ${JSON.stringify(body.quota)}`));
      }),
    );
  clientCommand(tenants, 'usage', "a tenant's usage by day (invocations, CPU ms, memory MiB-seconds)")
    .argument('<id>', 'the tenant')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<{ days: Record<string, unknown>[] }>(
          'GET',
          `/v1/tenants/${encodeURIComponent(id)}/usage`,
        );
        print(flags, body, () => printTable(body.days, ['day', 'invocations', 'cpuMs', 'memoryMbSeconds']));
      }),
    );
  clientCommand(tenants, 'audit', 'the audit log, oldest first (one page; --cursor for the next)')
    .option('--tenant <id>', 'only entries of this tenant')
    .option('--since <time>', 'ISO time')
    .option('--limit <n>', 'entries per page (1-1000)', '100')
    .option('--cursor <cursor>', 'from a previous page')
    .action(
      action(async (flags: ClientFlags & { tenant?: string; since?: string; limit: string; cursor?: string }) => {
        const query = new URLSearchParams({ limit: flags.limit });
        if (flags.tenant) query.set('tenant', flags.tenant);
        if (flags.since) query.set('since', flags.since);
        if (flags.cursor) query.set('cursor', flags.cursor);
        const { body } = await clientOf(flags).request<{ items: Record<string, unknown>[]; nextCursor: string | null }>(
          'GET',
          `/v1/audit?${query}`,
        );
        print(flags, body, () => {
          printTable(body.items, ['at', 'tenant', 'keyId', 'action', 'target', 'result', 'status']);
          if (body.nextCursor) console.log(`more: --cursor ${body.nextCursor}`);
        });
      }),
    );
}
