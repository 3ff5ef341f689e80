/** `strata fn rollback <name>`: point `latest` (or --alias) at the newest version older than the one it runs. */
import type { Command } from 'commander';
import { refPath } from '../../client.ts';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../../command-kit.ts';
import { functionNotFound } from './not-found.ts';

export function register(fn: Command): void {
  clientCommand(fn, 'rollback', 'run the previous version of NAME again (the newest older than the one it runs)')
    .argument('<name>', 'the function')
    .option('--alias <alias>', 'roll this alias back instead of latest', 'latest')
    .action(
      action(async (name: string, flags: ClientFlags & { alias: string }) => {
        const { body } = await clientOf(flags).request<{ alias: string; version: number; previous: number }>(
          'POST',
          `/v1/functions/${refPath(name)}/rollback`,
          { body: JSON.stringify({ alias: flags.alias }), notFound: functionNotFound(`${name}@${flags.alias}`) },
        );
        print(flags, body, () => console.log(`${name}@${body.alias} -> v${body.version} (was v${body.previous})`));
      }),
    );
}
