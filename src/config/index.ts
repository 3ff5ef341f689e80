export { envNameOf, type LoadOptions, loadConfig, settingPaths } from './load.ts';
export { type Config, type ConfigInput, configSchema } from './schema.ts';
export { duration, formatBytes, parseDuration, parseSize, size } from './units.ts';
