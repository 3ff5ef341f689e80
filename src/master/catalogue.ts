/**
 * The Master's function catalogue: the worker's own Registry class (src/registry) over the
 * Master's data dir, so digests are computed one way on both sides and a worker can verify what
 * it fetches.
 */
import { Registry } from '../registry/registry.ts';
import type { Database } from '../store/database.ts';
import type { Catalogue } from './types.ts';

export function openCatalogue(db: Database, dataDir: string): Catalogue {
  return new Registry({ db, dataDir });
}
