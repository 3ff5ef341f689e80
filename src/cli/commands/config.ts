/**
 * `strata config`: the effective configuration (defaults < file < environment) as JSON;
 * `--env` as variables; `--reference` the generated docs/configuration.md.
 */
import { parseArgs } from 'node:util';
import { envNameOf, loadConfig, settingPaths } from '../../config/load.ts';
import { configReference } from '../../config/reference.ts';

export async function runConfigCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      env: { type: 'boolean', default: false },
      reference: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.reference) {
    process.stdout.write(configReference());
    return 0;
  }
  const config = loadConfig(values.config ? { file: values.config } : {});
  if (values.env) {
    for (const path of settingPaths()) {
      let value: unknown = config;
      for (const key of path) value = (value as Record<string, unknown>)[key];
      console.log(`${envNameOf(path)}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
    }
    return 0;
  }
  console.log(JSON.stringify(config, null, 2));
  return 0;
}
