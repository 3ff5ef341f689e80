/** `strata serve`: run the worker until SIGINT/SIGTERM, then shut down gracefully. */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import { startWorker } from '../worker.ts';

export async function runServeCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } }, strict: true });
  const config = loadConfig(values.config ? { file: values.config } : {});
  const worker = await startWorker(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      worker.logger.info({ signal }, 'signal received');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  // A second signal during shutdown ends the process at once.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  await worker.close();
  return 0;
}
