/**
 * `strata dev`: a reference Master and a worker in one command, for a first try. The Master
 * listens on STRATA_MASTER_GRPC / STRATA_MASTER_HTTP; the worker (the usual `strata serve`) is
 * pointed at it through STRATA_MASTERS and keeps serving its own HTTP API on STRATA_PORT.
 */
import type { Command } from 'commander';
import { isStrataError } from '../../core/errors.ts';
import { action } from '../command-kit.ts';
import { masterFlagsOrExit, masterOptions, masterOverrides, type RunningMaster, startMaster } from './master.ts';
import { runServeCommand } from './serve.ts';

export interface DevDeps {
  /** Runs the worker until it is stopped (default: runServeCommand from ./serve.ts). */
  serve?: (argv: string[]) => Promise<number>;
}

export function register(program: Command): void {
  masterOptions(
    program.command('dev').description('run a reference Master and a worker connected to it, for a first try'),
  ).action(action((flags: { grpc?: string; http?: string; dataDir?: string }) => runDev(masterOverrides(flags))));
}

/** `argv` form (tests). */
export async function runDevCommand(argv: string[], deps: DevDeps = {}): Promise<number> {
  const overrides = masterFlagsOrExit(
    argv,
    'usage: strata dev [--grpc host:port] [--http host:port] [--data-dir dir]\n\nRuns a reference Master and a worker connected to it.',
  );
  if (typeof overrides === 'number') return overrides;
  try {
    return await runDev(overrides, deps);
  } catch (err) {
    process.stderr.write(`strata dev: ${isStrataError(err) ? err.message : (err as Error).stack}\n`);
    return 1;
  }
}

export async function runDev(overrides: Record<string, string>, deps: DevDeps = {}): Promise<number> {
  const master: RunningMaster = await startMaster(overrides);
  process.env.STRATA_MASTERS = master.server.grpcAddress;
  if (overrides.dataDir) process.env.STRATA_DATA_DIR = overrides.dataDir;
  const serve = deps.serve ?? runServeCommand;
  try {
    return await serve([]);
  } finally {
    await master.stop();
  }
}
