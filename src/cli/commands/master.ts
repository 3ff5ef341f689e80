/**
 * `strata master [--grpc host:port] [--http host:port] [--data-dir dir]`: the reference Master
 * (gRPC for workers, HTTP for people and tests), until SIGINT/SIGTERM.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { isStrataError } from '../../core/errors.ts';
import type { MasterServer } from '../../master/server.ts';
import { action } from '../command-kit.ts';
import { createLogger } from '../logger.ts';

const USAGE = `usage: strata master [--grpc host:port] [--http host:port] [--data-dir dir]

Runs the reference Master: workers connect over gRPC (STRATA_MASTER_GRPC, default 127.0.0.1:7070),
people and tests use its HTTP API (STRATA_MASTER_HTTP, default 127.0.0.1:7080); tasks and the
function catalogue are kept under STRATA_DATA_DIR/master. See docs/master-link.md.`;

const FLAGS: Record<string, string> = { '--grpc': 'master.grpc', '--http': 'master.http', '--data-dir': 'dataDir' };

/** The Master's flags on a commander command (master and dev share them). */
export function masterOptions(command: Command): Command {
  return command
    .option('--grpc <host:port>', 'gRPC address for workers (default $STRATA_MASTER_GRPC, 127.0.0.1:7070)')
    .option('--http <host:port>', 'HTTP API address (default $STRATA_MASTER_HTTP, 127.0.0.1:7080)')
    .option('--data-dir <dir>', 'data directory (default $STRATA_DATA_DIR, ./data)');
}

/** commander's parsed flags as settings. */
export function masterOverrides(flags: { grpc?: string; http?: string; dataDir?: string }): Record<string, string> {
  const overrides: Record<string, string> = {};
  if (flags.grpc) overrides['master.grpc'] = flags.grpc;
  if (flags.http) overrides['master.http'] = flags.http;
  if (flags.dataDir) overrides.dataDir = flags.dataDir;
  return overrides;
}

export function register(program: Command): void {
  masterOptions(program.command('master').description('run the reference Master (gRPC for workers, HTTP for people)'))
    .addHelpText(
      'after',
      '\nTasks and the function catalogue are kept under STRATA_DATA_DIR/master. See docs/master-link.md.',
    )
    .action(action((flags: { grpc?: string; http?: string; dataDir?: string }) => runMaster(masterOverrides(flags))));
}

export function parseMasterFlags(argv: string[]): Record<string, string> | 'help' {
  const overrides: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return 'help';
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const key = FLAGS[flag];
    if (!key) throw new Error(`unknown option ${arg}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (!value) throw new Error(`${flag} needs a value`);
    overrides[key] = value;
  }
  return overrides;
}

/**
 * The flags as settings, or the exit code when there is nothing to run: 0 after printing `usage`
 * for --help, 2 after printing what is wrong.
 */
export function masterFlagsOrExit(argv: string[], usage: string): Record<string, string> | number {
  let overrides: Record<string, string> | 'help';
  try {
    overrides = parseMasterFlags(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (overrides === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return overrides;
}

export interface RunningMaster {
  server: MasterServer;
  stop(): Promise<void>;
}

/** Start a Master from configuration (also used by `strata dev`). */
export async function startMaster(overrides: Record<string, unknown> = {}): Promise<RunningMaster> {
  const config = loadConfig({ overrides });
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, base: { name: 'strata-master' } });
  const [{ openCatalogue }, { MasterServer }, { Database }, { Tenants }] = await Promise.all([
    import('../../master/catalogue.ts'),
    import('../../master/server.ts'),
    import('../../store/database.ts'),
    import('../../tenants/tenants.ts'),
  ]);
  const dataDir = join(config.dataDir, 'master');
  const db = new Database(join(dataDir, 'master.db'));
  const catalogue = openCatalogue(db, dataDir);
  // The worker's key and scope model over the Master's own database (src/master/auth.ts).
  const tenants = new Tenants({ db, config: { ...config, dataDir } });
  try {
    tenants.assertSafeBind(hostOf(config.master.http), 'Master');
  } catch (err) {
    db.close();
    throw err;
  }
  const server = new MasterServer({ config: config.master, db, catalogue, dataDir, logger, tenants });
  try {
    await server.start();
  } catch (err) {
    await server.stop().catch(() => {});
    db.close();
    throw err;
  }
  logger.info(
    { grpc: server.grpcAddress, http: server.httpAddress, dataDir, masterId: server.core.masterId },
    'Strata Master listening',
  );
  return {
    server,
    async stop() {
      await server.stop();
      db.close();
    },
  };
}

/** The host of `host:port` (`[::1]:7080` too). */
function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
}

/** `argv` form (tests, older callers). */
export async function runMasterCommand(argv: string[]): Promise<number> {
  const overrides = masterFlagsOrExit(argv, USAGE);
  if (typeof overrides === 'number') return overrides;
  try {
    return await runMaster(overrides);
  } catch (err) {
    process.stderr.write(`strata master: ${isStrataError(err) ? err.message : (err as Error).stack}\n`);
    return 1;
  }
}

export async function runMaster(overrides: Record<string, string>): Promise<number> {
  const master = await startMaster(overrides);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await master.stop();
  return 0;
}
