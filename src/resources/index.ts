export {
  type AnomalyFlag,
  type AnomalySettings,
  type Baseline,
  detectAnomalies,
  observe,
  updateBaseline,
} from './anomaly.ts';
export { BaselineStore, functionKey } from './baseline-store.ts';
export {
  type Allocatable,
  allocatable,
  type CapacitySettings,
  decideAdmission,
  planAdmission,
  type ResourceRequest,
  requestOf,
} from './capacity.ts';
export { type CgroupDetection, detectCgroups } from './cgroup/detect.ts';
export type { CgroupGroup, GroupUsage } from './cgroup/group.ts';
export { type CgroupHealth, CgroupManager, type CgroupManagerOptions, createCgroupManager } from './cgroup/manager.ts';
export { adjustCpu, CpuAdjuster } from './cpu-adjust.ts';
export { UsageHistory, type UsageSample } from './history.ts';
export { registerResourceMetrics } from './metrics.ts';
export { createNodeStats, type NodeStats, type NodeTotals } from './node-stats.ts';
export { chooseVictims, memoryShortfall, type RunningUse, reclaimedError } from './reclaim.ts';
export { createSampler, Sampler } from './sampler.ts';
export { createResources, Resources, type ResourcesOptions, type ResourcesSettings } from './service.ts';
