/** `strata fn list`: every live function at the version `latest` names. */
import type { Command } from 'commander';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../../command-kit.ts';
import { printTable } from '../../print.ts';

export function register(fn: Command): void {
  clientCommand(fn, 'list', 'list the functions (each at the version that runs)')
    .alias('ls')
    .action(
      action(async (flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<{ functions: Record<string, unknown>[] }>(
          'GET',
          '/v1/functions',
        );
        print(flags, body, () =>
          body.functions.length === 0
            ? console.log('no functions yet — deploy one with `strata fn deploy udf-examples/js/hello.js`')
            : printTable(body.functions, ['name', 'version', 'runtime', 'trust', 'tier', 'createdAt']),
        );
      }),
    );
}
