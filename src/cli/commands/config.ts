/** `strata config`: print the effective configuration (defaults < file < environment) as JSON, or the variable names. */
import { parseArgs } from 'node:util';
import { envNameOf, loadConfig, settingPaths } from '../../config/load.ts';

export async function runConfigCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, env: { type: 'boolean', default: false } },
    strict: true,
  });
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
