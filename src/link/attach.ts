/**
 * One call for the worker's composition root: build the link from the whole Config when
 * `link.masters` is set, expose its metrics, feed it node figures, start it.
 */
import type { Registry as PromRegistry } from 'prom-client';
import type { Config } from '../config/schema.ts';
import type { Database } from '../store/database.ts';
import { MasterLink } from './master-link.ts';
import { registerLinkMetrics } from './metrics.ts';
import { nodeUsageFromTotals } from './node-usage.ts';
import type { LinkExecutor, LinkLogger, LinkRegistry, LinkSignatures, TierReport } from './types.ts';

export interface AttachOptions {
  config: Config;
  db: Database;
  executor: LinkExecutor;
  registry: LinkRegistry;
  /** The worker's governance: verifies dispatched artifacts' signatures again. */
  signatures?: LinkSignatures;
  logger?: LinkLogger & { child?(bindings: object): LinkLogger };
  /** prom-client registry of the worker's /metrics. */
  metrics?: PromRegistry;
  /** src/resources' `resources.nodeTotals()`; node:os figures otherwise. */
  nodeTotals?: () => Parameters<typeof nodeUsageFromTotals>[0];
  tiersHealth?: () => TierReport[];
  version?: string;
}

/** The started link, or undefined when no Master is configured. Stop it with `await link.stop()`. */
export function attachMasterLink(options: AttachOptions): MasterLink | undefined {
  const { config } = options;
  if (config.link.masters.length === 0) return undefined;
  const logger = options.logger?.child ? options.logger.child({ component: 'link' }) : options.logger;
  const nodeTotals = options.nodeTotals;
  const link = new MasterLink({
    config: config.link,
    db: options.db,
    executor: options.executor,
    registry: options.registry,
    ...(options.signatures ? { signatures: options.signatures } : {}),
    dataDir: config.dataDir,
    ...(logger ? { logger } : {}),
    ...(options.version ? { version: options.version } : {}),
    ...(options.tiersHealth ? { tiersHealth: options.tiersHealth } : {}),
    ...(nodeTotals ? { nodeUsage: () => nodeUsageFromTotals(nodeTotals()) } : {}),
  });
  if (options.metrics) registerLinkMetrics(options.metrics, link);
  link.start();
  return link;
}
