#!/usr/bin/env node
/**
 * The `strata` command. `strata serve` runs the worker; `strata fn ...` and `strata exec ...`
 * talk to a running worker over HTTP; `strata master` and `strata dev` run the reference Master
 * (alone, or with a worker in one process). Every subcommand exits non-zero with a one-line
 * error on failure.
 */
import { runConfigCommand } from './commands/config.ts';
import { runExecCommand } from './commands/exec.ts';
import { runFnCommand } from './commands/fn.ts';
import { runServeCommand } from './commands/serve.ts';

const USAGE = `usage: strata <command> [options]

commands:
  serve                      run the worker (HTTP API at STRATA_HOST:STRATA_PORT)
  master                     run the reference Master (gRPC STRATA_MASTER_GRPC, HTTP STRATA_MASTER_HTTP)
  dev                        run a Master and a worker together, for a first try
  fn deploy <file> --name N  deploy a function (.js, .mjs, .sh, .py, .wasm or a manifest .json)
  fn invoke <name>           invoke a function (--data JSON | --data-file F, --async)
  fn list | get <name> | delete <name>
  exec get <id>              show an execution record
  images build               build the Docker tier's runner images locally
  config                     print the effective configuration

global options: --url URL (default http://$STRATA_HOST:$STRATA_PORT), --token T, --json`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => runServeCommand,
  fn: async () => runFnCommand,
  exec: async () => runExecCommand,
  config: async () => runConfigCommand,
  master: async () => (await import('./commands/master.ts')).runMasterCommand,
  dev: async () => (await import('./commands/dev.ts')).runDevCommand,
  images: async () => (await import('./commands/images.ts')).runImagesCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`strata: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const command = await load();
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    // One line, whatever the message holds (scripts read the first line of stderr).
    const message = String(err.message).replace(/\s*\n\s*/g, ' ');
    console.error(`strata: ${err.code ? `${err.code}: ` : ''}${message}`);
    process.exitCode = 1;
  },
);
