/**
 * `strata secrets set NAME` (the value from stdin, so it stays out of shell history and `ps`),
 * `strata secrets list`, `strata secrets delete NAME`: the worker's secret store (docs/governance.md).
 */
import type { Command } from 'commander';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../command-kit.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function register(program: Command): void {
  const secrets = program.command('secrets').description("the worker's secret store (values encrypted at rest)");
  clientCommand(
    secrets,
    'set',
    'store a secret; the value is read from stdin (echo -n "$TOKEN" | strata secrets set NAME)',
  )
    .argument('<name>', 'the secret name')
    .action(
      action(async (name: string, flags: ClientFlags) => {
        const value = await readStdin();
        const { body } = await clientOf(flags).request<{ name: string }>('POST', '/v1/secrets', {
          body: JSON.stringify({ name, value }),
        });
        print(flags, body, () => console.log(`stored secret ${body.name}`));
      }),
    );
  clientCommand(secrets, 'list', 'list secret names (never values)')
    .alias('ls')
    .action(
      action(async (flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<{ secrets: { name: string; updatedAt: string }[] }>(
          'GET',
          '/v1/secrets',
        );
        print(flags, body, () => {
          for (const s of body.secrets) console.log(`${s.name}\t${s.updatedAt}`);
        });
      }),
    );
  clientCommand(secrets, 'delete', 'delete a secret')
    .alias('rm')
    .argument('<name>', 'the secret name')
    .action(
      action(async (name: string, flags: ClientFlags) => {
        const { body } = await clientOf(flags).request('DELETE', `/v1/secrets/${encodeURIComponent(name)}`);
        print(flags, body, () => console.log(`deleted secret ${name}`));
      }),
    );
}
