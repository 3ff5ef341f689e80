/**
 * `strata config`: the effective configuration (defaults < file < environment) as a config file
 * would say it; `--env` as variables; `--reference` the generated docs/configuration.md.
 * Durations and sizes print with their units; secrets print as `<set>`.
 */
import type { Command } from 'commander';
import { displayConfig, variableValue } from '../../config/display.ts';
import { loadConfig, settingPaths, variableOf } from '../../config/load.ts';
import { configReference } from '../../config/reference.ts';
import { action } from '../command-kit.ts';

export function register(program: Command): void {
  program
    .command('config')
    .description('print the effective configuration (secrets show as <set>)')
    .option('--config <file>', 'a YAML or JSON settings file (default $STRATA_CONFIG)')
    .option('--env', 'as STRATA_* variables, one per line')
    .option('--reference', 'the reference of every setting (docs/configuration.md)')
    .action(
      action((flags: { config?: string; env?: boolean; reference?: boolean }) => {
        if (flags.reference) {
          process.stdout.write(configReference());
          return;
        }
        const config = loadConfig(flags.config ? { file: flags.config } : {});
        if (flags.env) {
          for (const path of settingPaths()) {
            const value = path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
            console.log(`${variableOf(path)}=${variableValue(path, value)}`);
          }
          return;
        }
        console.log(JSON.stringify(displayConfig(config), null, 2));
      }),
    );
}
