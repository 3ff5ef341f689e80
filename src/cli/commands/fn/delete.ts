/** `strata fn delete <name>`: hide every version (execution records stay). */
import type { Command } from 'commander';
import { refPath } from '../../client.ts';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../../command-kit.ts';
import { functionNotFound } from './not-found.ts';

export function register(fn: Command): void {
  clientCommand(fn, 'delete', 'delete a function: every version and alias (its execution records stay)')
    .alias('rm')
    .argument('<name>', 'the function')
    .action(
      action(async (name: string, flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<{ deleted: number[] }>(
          'DELETE',
          `/v1/functions/${refPath(name)}`,
          {
            notFound: functionNotFound(name),
          },
        );
        print(flags, body, () => console.log(`deleted ${name} (versions ${body.deleted.join(', ')})`));
      }),
    );
}
