/**
 * A worker in its own process (for the SIGKILL test): the real MasterLink over a fake executor.
 * Env: MASTERS, WORKER_ID, DATA_DIR. Prints "connected" once registered.
 */
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.ts';
import { MasterLink } from '../../../src/link/master-link.ts';
import { Database } from '../../../src/store/database.ts';
import { FakeCatalogue, FakeExecutor } from './fakes.ts';

const dataDir = process.env.DATA_DIR as string;
const config = loadConfig({
  env: {},
  overrides: { 'link.masters': process.env.MASTERS, 'link.reconnectInitial': 50, 'link.reconnectMax': 500 },
});
const db = new Database(join(dataDir, 'worker.db'));
const link = new MasterLink({
  config: config.link,
  db,
  executor: new FakeExecutor({ concurrency: 8 }),
  registry: new FakeCatalogue(),
  workerId: process.env.WORKER_ID as string,
  dataDir,
});
link.start();
const timer = setInterval(() => {
  if (link.stats().state === 'connected') {
    process.stdout.write('connected\n');
    clearInterval(timer);
  }
}, 10);
process.on('SIGTERM', async () => {
  await link.stop();
  db.close();
  process.exit(0);
});
