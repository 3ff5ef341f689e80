/**
 * `strata keys create|ls|revoke`: API keys of a worker (needs an admin key: --token or
 * $STRATA_TOKEN, e.g. the bootstrap STRATA_ADMIN_TOKEN). The key is printed once, at creation.
 * `strata keys generate --out FILE` makes an ed25519 signing key pair locally (the same command
 * as `strata signing generate`; no worker involved).
 */
import type { Command } from 'commander';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../command-kit.ts';
import { printTable } from '../print.ts';
import { registerGenerate } from './signing.ts';

type CreateFlags = ClientFlags & { tenant: string; scopes: string; expires?: string };

export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('create, list and revoke API keys (admin); generate a signing key pair');
  clientCommand(keys, 'create', 'create an API key for a tenant; prints the key once')
    .requiredOption('--tenant <id>', 'the tenant the key belongs to')
    .requiredOption(
      '--scopes <list>',
      'comma-separated: functions:read, functions:write, invoke, executions:read, admin',
    )
    .option('--expires <when>', 'a duration from now ("30d", "12h") or an ISO time')
    .action(
      action(async (flags: CreateFlags) => {
        const { body } = await clientOf(flags).request<Record<string, unknown>>('POST', '/v1/keys', {
          body: JSON.stringify({
            tenant: flags.tenant,
            scopes: flags.scopes
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
            ...(flags.expires ? { expires: flags.expires } : {}),
          }),
        });
        print(flags, body, () => {
          console.log(body.key);
          process.stderr.write(
            `key ${body.id} for tenant ${body.tenant} (${(body.scopes as string[]).join(', ')})${body.expiresAt ? `, expires ${body.expiresAt}` : ''} — shown only now; keep it safe\n`,
          );
        });
      }),
    );
  clientCommand(keys, 'ls', 'list API keys (never the keys themselves)')
    .alias('list')
    .option('--tenant <id>', "only this tenant's keys")
    .action(
      action(async (flags: ClientFlags & { tenant?: string }) => {
        const query = flags.tenant ? `?tenant=${encodeURIComponent(flags.tenant)}` : '';
        const { body } = await clientOf(flags).request<{ keys: Record<string, unknown>[] }>('GET', `/v1/keys${query}`);
        print(flags, body, () =>
          body.keys.length === 0
            ? console.log('no API keys yet — create one with `strata keys create --tenant acme --scopes invoke`')
            : printTable(
                body.keys.map((k) => ({
                  ...k,
                  scopes: (k.scopes as string[]).join(','),
                  revoked: k.revokedAt ? 'yes' : '',
                })),
                ['id', 'tenant', 'scopes', 'createdAt', 'expiresAt', 'lastUsedAt', 'revoked'],
              ),
        );
      }),
    );
  clientCommand(keys, 'revoke', 'revoke an API key; it stops working at once')
    .argument('<id>', 'the key id (from `strata keys ls`)')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<Record<string, unknown>>(
          'DELETE',
          `/v1/keys/${encodeURIComponent(id)}`,
          { notFound: () => `no API key ${id} — list them with \`strata keys ls\`` },
        );
        print(flags, body, () => console.log(`revoked key ${body.id} of tenant ${body.tenant}`));
      }),
    );
  registerGenerate(keys);
}
