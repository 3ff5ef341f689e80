export { type Interpreter, plainArgv, sandboxArgv } from './command.ts';
export { createProcessDriver, type PreparedScript, ProcessDriver, type ProcessDriverOptions } from './driver.ts';
export { probeSandbox } from './health.ts';
export { parseResult, processOutcome } from './outcome.ts';
