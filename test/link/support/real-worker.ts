/** A real worker (src/cli/worker.ts: registry, executor, isolate tier) linked to a reference Master. */
import { pino } from 'pino';
import { startWorker, type Worker } from '../../../src/cli/worker.ts';
import { loadConfig } from '../../../src/config/load.ts';
import type { MasterServer } from '../../../src/master/server.ts';
import { type Cleanup, tempDir } from './harness.ts';

/** Starts it as `workerId` (it links itself: link.masters is set) with one isolate host and no engine prebuild; `cleanups` closes it. */
export async function startLinkedWorker(master: MasterServer, workerId: string, cleanups: Cleanup[]): Promise<Worker> {
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: tempDir('strata-worker-'),
      'link.masters': master.grpcAddress,
      'link.workerId': workerId,
      'isolate.hosts': 1,
      // These workers run JS and scripts only: the background JS-engine builds would compete
      // with the burst for this machine's two cores and be cancelled at close.
      'wasm.prebuildEngines': false,
    },
  });
  const worker = await startWorker(config, {
    listen: false,
    logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
  });
  cleanups.push(() => worker.close());
  return worker;
}
