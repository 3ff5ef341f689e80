/** `strata fn aliases <name>`: which version each alias names (`latest` is what runs). */
import type { Command } from 'commander';
import { refPath } from '../../client.ts';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../../command-kit.ts';
import { printTable } from '../../print.ts';
import { functionNotFound } from './not-found.ts';

export function register(fn: Command): void {
  clientCommand(fn, 'aliases', 'list the aliases of a function')
    .argument('<name>', 'the function')
    .action(
      action(async (name: string, flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<{ aliases: Record<string, unknown>[] }>(
          'GET',
          `/v1/functions/${refPath(name)}/aliases`,
          { notFound: functionNotFound(name) },
        );
        print(flags, body, () => printTable(body.aliases, ['alias', 'version', 'updatedAt']));
      }),
    );
}
