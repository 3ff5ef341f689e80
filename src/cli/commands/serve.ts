/**
 * `strata serve` (= `npm start`): run the worker until SIGINT/SIGTERM, then shut down
 * gracefully. A fatal start-up error (busy port, bad setting) is one line and a non-zero exit,
 * with everything started so far stopped (startWorker undoes it).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { action } from '../command-kit.ts';
import { startupSummary } from '../startup-summary.ts';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the worker: the HTTP API at STRATA_HOST:STRATA_PORT (default 127.0.0.1:8080)')
    .option('--config <file>', 'a YAML or JSON settings file (default $STRATA_CONFIG)')
    .option('--insecure', 'serve an address other than loopback without API keys (everyone is admin)')
    .action(action((flags: { config?: string; insecure?: boolean }) => runServe(flags)));
}

/** `argv` form, for `strata dev` and tests: only `--config <file>`. */
export async function runServeCommand(argv: string[]): Promise<number> {
  const at = argv.indexOf('--config');
  return runServe(at >= 0 && argv[at + 1] ? { config: argv[at + 1] as string } : {});
}

export async function runServe(flags: { config?: string; insecure?: boolean }): Promise<number> {
  const config = loadConfig({
    ...(flags.config ? { file: flags.config } : {}),
    ...(flags.insecure ? { overrides: { 'tenants.insecure': true } } : {}),
  });
  // Heavy (every sandbox tier): loaded only when a worker really starts.
  const { startWorker } = await import('../worker.ts');
  const { VERSION } = await import('../version.ts');
  // Listen for the stop signal before anyone hears the worker is up (a signal during start-up
  // stops it as soon as it is up, gracefully).
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const worker = await startWorker(config, flags.config ? { configFile: flags.config } : {});
  if (process.stdout.isTTY) {
    process.stdout.write(
      startupSummary(
        {
          url: worker.url,
          dataDir: resolve(config.dataDir),
          version: VERSION,
          tiers: worker.executor.tierHealth(),
          masters: config.link.masters,
          auth: worker.tenants.secured(),
        },
        !process.env.NO_COLOR,
      ),
    );
  }
  worker.logger.info({ signal: await stopped }, 'signal received');
  // A second signal during shutdown ends the process at once.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  await worker.close();
  return 0;
}
