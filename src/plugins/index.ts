export { type Alert, AlertCenter } from './alerts.ts';
export { PluginHost, type PluginHostOptions } from './host.ts';
export {
  PLUGIN_KINDS,
  type PluginKind,
  type PluginManifest,
  pluginManifestSchema,
  readPluginManifest,
} from './manifest.ts';
export { PLUGIN_STATES, PluginMetrics, type PluginState } from './metrics.ts';
export { loadOrder } from './order.ts';
export type { PluginHealth, PluginInfo } from './slot.ts';
export { PluginWatcher } from './watcher.ts';
