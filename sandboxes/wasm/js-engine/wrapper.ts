/**
 * The JS module Strata builds into each engine component (world `js-engine`, wit/strata.wit).
 * It is evaluated once, at engine build time (the engine snapshots it); each invocation gets a
 * new instance of the engine and calls `run(source, inputJson, metaJson)` once.
 *
 * It gives user code the contracted ctx (CONTRACTS.md "JS ctx") and the same console as the
 * isolate tier (formatting, level prefixes, order), logs through the `engine-host.log` import in
 * chunks, and timers bounded by the invocation: they fire only while it runs (the host's clock
 * import really waits, up to the deadline) and are all cleared when it ends; output after the end
 * is dropped and counted. The answer is one tag character and its payload:
 *
 *   r<json>             the result's JSON text
 *   t<json>             the function threw: {name, message, stack}
 *   u<message>          the result cannot be turned into JSON
 *   m<message>          the module could not be loaded (its default export is not a function, ...)
 *
 * written as `<tag><late>:<payload>`, where <late> counts the log bytes dropped after the end.
 */

/** Bump when the text below changes, so engines are rebuilt (it is part of the engine's cache key). */
export const WRAPPER_VERSION = 1;

/** Log text is handed to the host in chunks of about this many characters. */
export const LOG_CHUNK_CHARS = 8192;

/**
 * `canWait`: the engine runs an event loop while the export's promise is pending (StarlingMonkey).
 * QuickJS's synchronous runtime cannot: a function returning a promise is refused with a message.
 */
export function wrapperSource(canWait: boolean): string {
  return `import { log as hostLog } from 'strata:udf/engine-host@0.1.0';

const stringify = JSON.stringify;
const parse = JSON.parse;
const freeze = Object.freeze;
const StringOf = String;
const FunctionOf = Function;
const AsyncFunctionOf = (async function () {}).constructor;
const isPromise = (v) => v instanceof Promise;
const native = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
};
const CAN_WAIT = ${canWait ? 'true' : 'false'} && typeof native.setTimeout === 'function';

let live = false;
let pending = '';
let late = 0;

const format = (value) => {
  if (typeof value === 'string') return value;
  if (value instanceof Error) {
    const head = value.name + ': ' + value.message;
    const stack = typeof value.stack === 'string' ? value.stack.replace(/\\n$/, '') : '';
    // V8's stack starts with the head; SpiderMonkey's and QuickJS's are frames only.
    return stack === '' ? head : stack.startsWith(head) ? stack : head + '\\n' + stack;
  }
  if (typeof value === 'object' && value !== null) {
    try { return stringify(value); } catch { return StringOf(value); }
  }
  try { return StringOf(value); } catch { return '[unprintable]'; }
};
const flush = () => {
  if (pending.length === 0) return;
  const chunk = pending;
  pending = '';
  hostLog(chunk);
};
const write = (level, args) => {
  let line = level === 'log' || level === 'info' ? '' : level.toUpperCase() + ' ';
  for (let i = 0; i < args.length; i++) line += (i ? ' ' : '') + format(args[i]);
  if (!live) { late += line.length + 1; return; }
  pending += line + '\\n';
  if (pending.length >= ${LOG_CHUNK_CHARS}) flush();
};
const makeLogger = (level) => (...args) => write(level, args);
globalThis.console = freeze({
  log: makeLogger('log'), info: makeLogger('info'), warn: makeLogger('warn'),
  error: makeLogger('error'), debug: makeLogger('debug'), trace: makeLogger('debug'),
});

// Timers: the engine's own (they wait on the host's clock) wrapped so that every one is known,
// fires only while the invocation runs and is cleared when it ends. Without an event loop
// (QuickJS) they are accepted and never fire, since the invocation ends when the function returns.
const timers = new Map();
let nextTimer = 1;
const callback = (fn, name) => {
  if (typeof fn !== 'function') throw new TypeError(name + ': the callback must be a function');
  return fn;
};
const delayOf = (ms) => { const n = Number(ms); return n > 0 ? n : 0; };
globalThis.setTimeout = (fn, ms, ...args) => {
  callback(fn, 'setTimeout');
  const id = nextTimer++;
  if (!live) return id;
  const handle = CAN_WAIT ? native.setTimeout(() => { timers.delete(id); if (live) fn(...args); }, delayOf(ms)) : 0;
  timers.set(id, { handle, interval: false });
  return id;
};
globalThis.setInterval = (fn, ms, ...args) => {
  callback(fn, 'setInterval');
  const id = nextTimer++;
  if (!live) return id;
  const handle = CAN_WAIT ? native.setInterval(() => { if (live) fn(...args); }, delayOf(ms)) : 0;
  timers.set(id, { handle, interval: true });
  return id;
};
const clear = (id) => {
  const timer = timers.get(id);
  if (!timer) return;
  timers.delete(id);
  if (!CAN_WAIT) return;
  if (timer.interval) native.clearInterval(timer.handle); else native.clearTimeout(timer.handle);
};
globalThis.clearTimeout = clear;
globalThis.clearInterval = clear;

// The answer: tag, the count of late log bytes dropped, ':', payload.
const end = (tagged) => {
  live = false;
  for (const id of [...timers.keys()]) clear(id);
  flush();
  return tagged[0] + late + ':' + tagged.slice(1);
};
const answer = (value) => {
  let json;
  try { json = stringify(value === undefined ? null : value); } catch (error) {
    return 'u' + StringOf(error && error.message);
  }
  return 'r' + (json === undefined ? 'null' : json);
};
const threw = (error) => {
  const isError = error instanceof Error;
  let message;
  try { message = isError ? StringOf(error.message) : format(error); } catch { message = '[unprintable]'; }
  let stack = '';
  try { stack = isError ? StringOf(error.stack || '') : ''; } catch {}
  return 't' + stringify({ name: isError ? StringOf(error.name) : 'Error', message, stack });
};
const NOT_A_FUNCTION = 'mthe default export is not a function: write export default async function (input, ctx) { ... }';

export function run(source, inputJson, metaJson) {
  const meta = parse(metaJson);
  const input = parse(inputJson);
  const ctx = freeze({
    executionId: meta.executionId,
    function: freeze({ name: meta.name, version: meta.version }),
    deadline: meta.deadline,
    log: makeLogger('log'),
  });
  live = true;
  let loaded;
  try {
    loaded = (meta.asyncBody === true ? AsyncFunctionOf : FunctionOf)(source)();
  } catch (error) {
    return end(threw(error));
  }
  if (CAN_WAIT) {
    return (async () => {
      let value;
      try {
        const fn = await loaded;
        if (typeof fn !== 'function') return end(NOT_A_FUNCTION);
        value = await fn(input, ctx);
      } catch (error) {
        return end(threw(error));
      }
      return end(answer(value));
    })();
  }
  if (isPromise(loaded)) return end('mtop-level await needs an engine with an event loop (wasm.jsEngine starlingmonkey)');
  if (typeof loaded !== 'function') return end(NOT_A_FUNCTION);
  let value;
  try {
    value = loaded(input, ctx);
  } catch (error) {
    return end(threw(error));
  }
  if (isPromise(value)) {
    return end('mthe function returned a promise, which the quickjs engine cannot wait for; deploy it with wasm.jsEngine auto or starlingmonkey');
  }
  return end(answer(value));
}
`;
}
