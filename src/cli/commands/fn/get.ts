/** `strata fn get <name[@ref]>`: one function version with its versions and aliases. */
import type { Command } from 'commander';
import { refPath } from '../../client.ts';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../../command-kit.ts';
import { printFunction } from '../../print.ts';
import { functionNotFound } from './not-found.ts';

export function register(fn: Command): void {
  clientCommand(fn, 'get', 'show a function (NAME, NAME@<version> or NAME@<alias>)')
    .argument('<function>', 'NAME, NAME@<version> or NAME@<alias>')
    .option('--version <n>', 'a version (same as NAME@<n>)')
    .action(
      action(async (ref: string, flags: ClientFlags & { version?: string }) => {
        const qs = flags.version ? `?version=${encodeURIComponent(flags.version)}` : '';
        const { body } = await clientOf(flags).request<Record<string, unknown>>(
          'GET',
          `/v1/functions/${refPath(ref)}${qs}`,
          { notFound: functionNotFound(ref, flags.version) },
        );
        print(flags, body, () => printFunction(body));
      }),
    );
}
