/**
 * `strata dev`: a reference Master and a worker in one command, for a first try. The Master
 * listens on STRATA_MASTER_GRPC / STRATA_MASTER_HTTP; the worker (the usual `strata serve`) is
 * pointed at it through STRATA_MASTERS and keeps serving its own HTTP API on STRATA_PORT.
 */
import { isStrataError } from '../../core/errors.ts';
import { masterFlagsOrExit, startMaster } from './master.ts';
import { runServeCommand } from './serve.ts';

export interface DevDeps {
  /** Runs the worker until it is stopped (default: runServeCommand from ./serve.ts). */
  serve?: (argv: string[]) => Promise<number>;
}

export async function runDevCommand(argv: string[], deps: DevDeps = {}): Promise<number> {
  const overrides = masterFlagsOrExit(
    argv,
    'usage: strata dev [--grpc host:port] [--http host:port] [--data-dir dir]\n\nRuns a reference Master and a worker connected to it.',
  );
  if (typeof overrides === 'number') return overrides;
  let master: Awaited<ReturnType<typeof startMaster>>;
  try {
    master = await startMaster(overrides);
  } catch (err) {
    process.stderr.write(`strata dev: ${isStrataError(err) ? err.message : (err as Error).stack}\n`);
    return 1;
  }
  process.env.STRATA_MASTERS = master.server.grpcAddress;
  if (overrides.dataDir) process.env.STRATA_DATA_DIR = overrides.dataDir;
  const serve = deps.serve ?? runServeCommand;
  try {
    return await serve([]);
  } finally {
    await master.stop();
  }
}
