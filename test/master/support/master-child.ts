/**
 * A reference Master in its own process on the shared store, for tests that SIGKILL it:
 * `node master-child.ts <databaseUrl> <masterId> <dataDir>`. It deploys the link tests' no-op
 * function in a fake catalogue (same digest in every Master) and prints one JSON line
 * {grpc, http} once it listens.
 */
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.ts';
import { MasterServer } from '../../../src/master/server.ts';
import { Database } from '../../../src/store/database.ts';
import { FakeCatalogue } from '../../link/support/fakes.ts';
import { NOOP } from './multi-master.ts';

const [url, id, dataDir] = process.argv.slice(2) as [string, string, string];
const config = loadConfig({
  env: {},
  overrides: {
    'master.grpc': '127.0.0.1:0',
    'master.http': '127.0.0.1:0',
    'master.id': id,
    'master.databaseUrl': url,
    'master.heartbeatTimeout': process.env.TEST_HEARTBEAT_TIMEOUT ?? '3s',
  },
});
const catalogue = new FakeCatalogue();
await catalogue.deploy(NOOP);
const db = new Database(join(dataDir, 'master.db'));
const server = new MasterServer({ config: config.master, db, catalogue, dataDir });
await server.start();
process.stdout.write(`${JSON.stringify({ grpc: server.grpcAddress, http: server.httpAddress })}\n`);
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
