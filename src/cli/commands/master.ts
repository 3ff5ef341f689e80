/**
 * `strata master [--grpc host:port] [--http host:port] [--data-dir dir]`: the reference Master
 * (gRPC for workers, HTTP for people and tests), until SIGINT/SIGTERM.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../config/index.ts';
import { isStrataError } from '../../core/errors.ts';
import { openCatalogue } from '../../master/catalogue.ts';
import { MasterServer } from '../../master/server.ts';
import { Database } from '../../store/database.ts';

const USAGE = `usage: strata master [--grpc host:port] [--http host:port] [--data-dir dir]

Runs the reference Master: workers connect over gRPC (STRATA_MASTER_GRPC, default 127.0.0.1:7070),
people and tests use its HTTP API (STRATA_MASTER_HTTP, default 127.0.0.1:7080); tasks and the
function catalogue are kept under STRATA_DATA_DIR/master. See docs/master-link.md.`;

const FLAGS: Record<string, string> = { '--grpc': 'master.grpc', '--http': 'master.http', '--data-dir': 'dataDir' };

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
  const logger = pino({ level: config.logLevel, name: 'strata-master' });
  const dataDir = join(config.dataDir, 'master');
  const db = new Database(join(dataDir, 'master.db'));
  const catalogue = openCatalogue(db, dataDir);
  const server = new MasterServer({ config: config.master, db, catalogue, dataDir, logger });
  await server.start();
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

export async function runMasterCommand(argv: string[]): Promise<number> {
  const overrides = masterFlagsOrExit(argv, USAGE);
  if (typeof overrides === 'number') return overrides;
  let master: RunningMaster;
  try {
    master = await startMaster(overrides);
  } catch (err) {
    process.stderr.write(`strata master: ${isStrataError(err) ? err.message : (err as Error).stack}\n`);
    return 1;
  }
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
