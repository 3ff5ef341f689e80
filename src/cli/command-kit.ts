/**
 * What every command file uses: `clientCommand` (a subcommand with --url, --token, --json),
 * `action` (an exit code from the handler), `print` (JSON with --json, readable otherwise).
 * A command file exports `register(parent)`; src/cli/commands/index.ts lists them.
 */
import type { Command } from 'commander';
import { StrataClient } from './client.ts';

export interface ClientFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

export function clientCommand(parent: Command, spec: string, description: string): Command {
  return parent
    .command(spec)
    .description(description)
    .option('--url <url>', 'the worker to talk to (default $STRATA_URL, else http://$STRATA_HOST:$STRATA_PORT)')
    .option('--token <token>', 'bearer token for the worker (default $STRATA_TOKEN)')
    .option('--json', 'print the API answer as JSON');
}

export const clientOf = (flags: ClientFlags) => new StrataClient({ url: flags.url, token: flags.token });

export function print(flags: ClientFlags, body: unknown, human: () => void): void {
  if (flags.json) console.log(JSON.stringify(body, null, 2));
  else human();
}

let exitCode = 0;

/** Wrap a handler: its returned number (default 0) becomes the process exit code. */
// biome-ignore lint/suspicious/noExplicitAny: commander passes (args..., options, command) of any shape
export function action<A extends any[]>(handler: (...args: A) => Promise<number | undefined> | number | undefined) {
  return async (...args: A): Promise<void> => {
    exitCode = (await handler(...args)) ?? 0;
  };
}

export const actionExitCode = (): number => exitCode;
