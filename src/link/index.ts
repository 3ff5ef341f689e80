export { type AttachOptions, attachMasterLink } from './attach.ts';
export { type LinkStats, MasterLink, type MasterLinkOptions } from './master-link.ts';
export { registerLinkMetrics } from './metrics.ts';
export { type NodeUsage as LinkNodeUsage, nodeUsageFromTotals, osNodeUsage } from './node-usage.ts';
export type { LinkExecutor, LinkRegistry, NodeUsage, TierReport } from './types.ts';
