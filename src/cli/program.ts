/**
 * The `strata` command tree (commander) and how it ends: exit 0 on success, 1 when something
 * failed, 2 for a usage error (unknown command or option, missing argument, bad flag value).
 * Every error is one line on stderr, worded for the command line.
 */
import { Command, CommanderError } from 'commander';
import { isStrataError } from '../core/errors.ts';
import { actionExitCode } from './command-kit.ts';
import { COMMANDS } from './commands/index.ts';
import { ApiError, CliError, cliMessageOf, oneLine } from './errors.ts';
import { VERSION } from './version.ts';

export function buildProgram(): Command {
  const program = new Command('strata')
    .description('Strata: run user-defined functions in sandboxes, as a worker of a task platform')
    .usage('<command> [options]')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    // Root options only before the command, so `fn invoke x --version 3` is invoke's --version.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
The client commands (fn, exec) talk to --url, else $STRATA_URL, else http://$STRATA_HOST:$STRATA_PORT
(default http://127.0.0.1:8080), with --token or $STRATA_TOKEN. Add --json for the API's answer.
Exit codes: 0 ok, 1 failed, 2 usage error. Completion: source <(strata completion bash)

A first function:
  npm start
  strata fn deploy udf-examples/js/hello.js
  strata fn invoke hello --data '{"name":"Ada"}'`,
    );
  for (const register of COMMANDS) register(program);
  return program;
}

/** The command path argv names (`fn deploy`), for "see `strata fn deploy --help`". */
function commandPath(program: Command, argv: readonly string[]): string[] {
  const path: string[] = [];
  let command = program;
  for (const word of argv) {
    if (word.startsWith('-')) continue;
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    path.push(sub.name());
    command = sub;
  }
  return path;
}

/** Run the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return actionExitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // A group run without its subcommand: commander printed its help on stderr.
      if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2;
      const where = ['strata', ...commandPath(program, argv)].join(' ');
      const message = oneLine(err.message.replace(/^error:\s*/, '')).replace(/\(Did you mean/, '(did you mean');
      process.stderr.write(`${where}: ${message} — see \`${where} --help\`\n`);
      return 2;
    }
    process.stderr.write(`strata: ${oneLine(messageOf(err))}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

function messageOf(err: unknown): string {
  if (err instanceof ApiError) return cliMessageOf(err);
  if (err instanceof CliError || isStrataError(err)) return err.message;
  const e = err as NodeJS.ErrnoException;
  return e?.message ? e.message : String(err);
}
