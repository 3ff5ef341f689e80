/**
 * Code evaluated inside every isolate before the user's module. It installs `console`, and
 * returns the runner that calls the module's default export. The runner and the log buffer live
 * in a closure user code cannot reach; user code sees no host object at all (no require,
 * process, Buffer, Reference or ivm), only the plain functions installed here.
 *
 * Logs are buffered inside the isolate and flushed to the host in chunks through `$0` (a sync
 * ivm.Callback), so a log flood costs one host call per chunk, not per line. The last chunk
 * travels back with the result.
 */
export const LOG_CHUNK_CHARS = 8192;

export const BOOTSTRAP_SOURCE = `
'use strict';
const flushToHost = $0;
const stringify = JSON.stringify;
const parse = JSON.parse;
const freeze = Object.freeze;
const StringOf = String;
let pending = '';

const format = (value) => {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack || (value.name + ': ' + value.message);
  if (typeof value === 'object' && value !== null) {
    try { return stringify(value); } catch { return StringOf(value); }
  }
  try { return StringOf(value); } catch { return '[unprintable]'; }
};
const write = (level, args) => {
  let line = level === 'log' || level === 'info' ? '' : level.toUpperCase() + ' ';
  for (let i = 0; i < args.length; i++) line += (i ? ' ' : '') + format(args[i]);
  pending += line + '\\n';
  if (pending.length >= ${LOG_CHUNK_CHARS}) { const chunk = pending; pending = ''; flushToHost(chunk); }
};
const makeLogger = (level) => (...args) => write(level, args);
globalThis.console = freeze({
  log: makeLogger('log'), info: makeLogger('info'), warn: makeLogger('warn'),
  error: makeLogger('error'), debug: makeLogger('debug'),
});

return async function run(fn, inputJson, metaJson, resultCap) {
  const input = parse(inputJson);
  const meta = parse(metaJson);
  const ctx = freeze({
    executionId: meta.executionId,
    function: freeze({ name: meta.name, version: meta.version }),
    deadline: meta.deadline,
    log: makeLogger('log'),
  });
  const finish = (outcome) => { outcome.logs = pending; pending = ''; return outcome; };
  let value;
  try {
    value = await fn(input, ctx);
  } catch (error) {
    const isError = error instanceof Error;
    let message;
    try { message = isError ? StringOf(error.message) : format(error); } catch { message = '[unprintable]'; }
    return finish({ kind: 'threw', name: isError ? StringOf(error.name) : 'Error', message, stack: isError ? StringOf(error.stack || '') : '' });
  }
  let json;
  try { json = stringify(value === undefined ? null : value); } catch (error) {
    return finish({ kind: 'unserializable', message: StringOf(error && error.message) });
  }
  if (json === undefined) json = 'null';
  if (json.length > resultCap) return finish({ kind: 'too_large', size: json.length });
  return finish({ kind: 'ok', json });
};
`;
