/** `strata fn promote <name> <version>`: make a version what runs (`latest`), or move another alias with --alias. */
import type { Command } from 'commander';
import { refPath } from '../../client.ts';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../../command-kit.ts';
import { usageError } from '../../errors.ts';
import { functionNotFound } from './not-found.ts';

export function register(fn: Command): void {
  clientCommand(fn, 'promote', 'make VERSION the one NAME runs (or NAME@ALIAS with --alias)')
    .argument('<name>', 'the function')
    .argument('<version>', 'the version to run')
    .option('--alias <alias>', 'move this alias instead of latest (invoked as NAME@ALIAS)', 'latest')
    .action(
      action(async (name: string, versionText: string, flags: ClientFlags & { alias: string }) => {
        const version = Number(versionText.replace(/^v/, ''));
        if (!Number.isInteger(version) || version < 1)
          throw usageError(`<version> must be a number like 3, got "${versionText}"`);
        const { body } = await clientOf(flags).request<{ alias: string; version: number; previous?: number }>(
          'PUT',
          `/v1/functions/${refPath(name)}/aliases/${encodeURIComponent(flags.alias)}`,
          { body: JSON.stringify({ version }), notFound: functionNotFound(`${name}@${version}`) },
        );
        print(flags, body, () =>
          console.log(
            `${name}@${body.alias} -> v${body.version} (${body.previous === undefined ? 'new alias' : body.previous === body.version ? 'unchanged' : `was v${body.previous}`})`,
          ),
        );
      }),
    );
}
