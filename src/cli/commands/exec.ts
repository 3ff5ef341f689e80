/** `strata exec get|cancel <id>`: an execution record; stop a queued or running one. */
import type { Command } from 'commander';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../command-kit.ts';
import { printRecord } from '../print.ts';
import { executionNotFound } from './fn/not-found.ts';

export function register(program: Command): void {
  const exec = program.command('exec').description('show or cancel executions');
  clientCommand(exec, 'get', 'show an execution record')
    .argument('<id>', 'the execution id (from `strata fn invoke`)')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<Record<string, unknown>>(
          'GET',
          `/v1/executions/${encodeURIComponent(id)}`,
          { notFound: executionNotFound(id) },
        );
        print(flags, body, () => printRecord(body));
      }),
    );
  clientCommand(exec, 'cancel', 'stop a queued or running execution')
    .argument('<id>', 'the execution id')
    .action(
      action(async (id: string, flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<Record<string, unknown>>(
          'POST',
          `/v1/executions/${encodeURIComponent(id)}/cancel`,
          { notFound: executionNotFound(id) },
        );
        print(flags, body, () => printRecord(body));
      }),
    );
}
