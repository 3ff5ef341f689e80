export { displayConfig, displayValue, SECRET_SHOWN, variableValue } from './display.ts';
export { envNameOf, type LoadOptions, loadConfig, settingPaths } from './load.ts';
export { type Config, type ConfigInput, configSchema } from './schema.ts';
export { duration, formatBytes, formatDuration, parseDuration, parseSize, size, unitProblem } from './units.ts';
