/** `strata completion bash|zsh`: a completion script generated from the command tree. */
import { Argument, type Command } from 'commander';
import { action } from '../command-kit.ts';
import { completionScript, SHELLS, type Shell } from '../completion.ts';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(strata completion bash)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action(
      action((shell: Shell) => {
        process.stdout.write(completionScript(program, shell));
      }),
    );
}
