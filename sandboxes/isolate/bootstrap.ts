/**
 * Code evaluated inside every isolate before the user's module. It installs `console` and the
 * timers, and returns the runner (which calls the module's default export) and the timer entry.
 * Both live in a closure user code cannot reach; user code sees no host object at all (no
 * require, process, Buffer, Reference or ivm), only the plain functions installed here.
 *
 * Outcomes are forgery-proof: everything the runner uses is captured here, before user code
 * runs, and the outcome leaves as one JSON string built from primitives — never an object whose
 * `then`, `toJSON` or getters user code could have planted on a prototype (a promise resolved
 * with an object looks up `then` on it; JSON.stringify looks up `toJSON`). Every read of a user
 * value (an error's name/message, a logged argument) is guarded, so a trap can only make that one
 * text '[unprintable]'. The host parses and schema-checks the string anyway.
 *
 * Logs are buffered inside the isolate and flushed to the host in chunks through `$0` (a sync
 * ivm.Callback), so a log flood costs one host call per chunk, not per line. The last chunk
 * travels back with the outcome. Output after an invocation ended (a detached microtask chain,
 * a timer's callback) belongs to no invocation: it is dropped and its bytes counted (`late`).
 *
 * Timers: setTimeout/setInterval ask the host (`$1`, ignored-result callback) to call back into
 * the isolate after the delay; only timers of the invocation in flight fire, and all are cleared
 * when it ends.
 *
 * ctx.fetch(url, init) asks the host (`$2`, ignored-result) to make the request through the SSRF
 * guard (sandboxes/isolate/guarded-fetch.ts); the host answers through `deliver` with JSON text.
 * Only the invocation in flight gets answers; its pending fetches are dropped when it ends.
 */
export const LOG_CHUNK_CHARS = 8192;

export const BOOTSTRAP_SOURCE = `
'use strict';
const flushToHost = $0;
const scheduleOnHost = $1;
const fetchOnHost = $2;
const stringify = JSON.stringify;
const parse = JSON.parse;
const freeze = Object.freeze;
const StringOf = String;
const ErrorOf = Error;
const apply = Reflect.apply;
const isString = (v) => typeof v === 'string';
const MapOf = Map;
const PromiseOf = Promise;
const promiseThen = Promise.prototype.then;
const TypeErrorOf = TypeError;
const mapGet = Map.prototype.get, mapSet = Map.prototype.set, mapDelete = Map.prototype.delete, mapClear = Map.prototype.clear;
const timers = new MapOf();
const fetches = new MapOf();
let nextFetch = 0;
let pending = '';
/** The invocation in flight (0 between invocations): what output and timers belong to. */
let current = 0;
let late = 0;
let nextTimer = 0;

const format = (value) => {
  try {
    if (typeof value === 'string') return value;
    if (value instanceof ErrorOf) {
      const stack = value.stack;
      if (isString(stack) && stack) return stack;
      return StringOf(value.name) + ': ' + StringOf(value.message);
    }
    if (typeof value === 'object' && value !== null) {
      try { const json = stringify(value); if (isString(json)) return json; } catch {}
    }
    return StringOf(value);
  } catch {
    return '[unprintable]';
  }
};
const write = (call, level, args) => {
  let line = level === 'log' || level === 'info' ? '' : level.toUpperCase() + ' ';
  for (let i = 0; i < args.length; i++) line += (i ? ' ' : '') + format(args[i]);
  line += '\\n';
  if (call === 0 || call !== current) { late += line.length; return; }
  pending += line;
  if (pending.length >= ${LOG_CHUNK_CHARS}) { const chunk = pending; pending = ''; flushToHost(chunk); }
};
// console.* belongs to whichever invocation is in flight; ctx.log to its own invocation only.
const consoleLogger = (level) => (...args) => write(current, level, args);
globalThis.console = freeze({
  log: consoleLogger('log'), info: consoleLogger('info'), warn: consoleLogger('warn'),
  error: consoleLogger('error'), debug: consoleLogger('debug'),
});

const delayOf = (ms) => { const n = +ms; return n > 0 && n < 2147483647 ? n : 0; };
const addTimer = (fn, ms, args, repeat) => {
  if (typeof fn !== 'function') throw new TypeErrorOf('the callback must be a function');
  if (current === 0) return 0;
  const id = ++nextTimer;
  const timer = { fn, args, repeat, delay: delayOf(ms), call: current };
  apply(mapSet, timers, [id, timer]);
  scheduleOnHost(current, id, timer.delay);
  return id;
};
const clearTimer = (id) => { apply(mapDelete, timers, [id]); };
globalThis.setTimeout = (fn, ms, ...args) => addTimer(fn, ms, args, false);
globalThis.setInterval = (fn, ms, ...args) => addTimer(fn, ms, args, true);
globalThis.clearTimeout = clearTimer;
globalThis.clearInterval = clearTimer;

/** The host calls this when timer \`id\` is due. */
const fire = (call, id) => {
  const timer = apply(mapGet, timers, [id]);
  if (timer === undefined || call !== current || timer.call !== current) return;
  if (timer.repeat) scheduleOnHost(current, id, timer.delay);
  else apply(mapDelete, timers, [id]);
  try { apply(timer.fn, undefined, timer.args); } catch (error) { write(call, 'error', ['Uncaught', error]); }
};

// ctx.fetch: strings out, JSON text back; a refusal rejects with an Error whose code says why.
const fetchFor = (call) => (url, init) => new PromiseOf((resolve, reject) => {
  if (call === 0 || call !== current) { reject(new ErrorOf('ctx.fetch: the invocation has ended')); return; }
  let initJson;
  try {
    const i = init === undefined || init === null ? {} : init;
    const body = i.body === undefined || i.body === null ? undefined : isString(i.body) ? i.body : stringify(i.body);
    initJson = stringify({ method: i.method === undefined ? undefined : StringOf(i.method), headers: i.headers, body });
  } catch (error) { reject(error); return; }
  const id = ++nextFetch;
  apply(mapSet, fetches, [id, { resolve, reject, call }]);
  fetchOnHost(call, id, StringOf(url), initJson);
});
const deliver = (call, id, outcomeJson) => {
  const pendingFetch = apply(mapGet, fetches, [id]);
  if (pendingFetch === undefined || pendingFetch.call !== call || call !== current) return;
  apply(mapDelete, fetches, [id]);
  const outcome = parse(outcomeJson);
  if (outcome.error) {
    const error = new ErrorOf(outcome.error.message);
    error.code = outcome.error.code;
    pendingFetch.reject(error);
    return;
  }
  const r = outcome.response;
  const body = r.body;
  pendingFetch.resolve(freeze({
    status: r.status,
    ok: r.status >= 200 && r.status < 300,
    headers: freeze(r.headers),
    text: () => PromiseOf.resolve(body),
    json: () => new PromiseOf((ok) => ok(parse(body))),
  }));
};

const quote = (text) => stringify(StringOf(text));
const errorText = (error) => {
  let name = 'Error', message = '';
  try {
    if (error instanceof ErrorOf) {
      try { name = StringOf(error.name); } catch { name = 'Error'; }
      try { message = StringOf(error.message); } catch { message = '[unprintable]'; }
    } else message = format(error);
  } catch { message = '[unprintable]'; }
  return [name, message];
};

const valueOutcome = (value, resultCap) => {
  // A long string is too large without paying for its JSON (7 s of CPU for 100 MB).
  if (isString(value) && value.length > resultCap) return '"kind":"too_large","size":' + (value.length + 2);
  let json;
  try { json = stringify(value === undefined ? null : value); } catch (error) {
    return '"kind":"unserializable","message":' + quote(capError(errorText(error)[1], 4096));
  }
  if (json === undefined) json = 'null';
  if (!isString(json)) return '"kind":"unserializable","message":"the result has no JSON form"';
  if (json.length > resultCap) return '"kind":"too_large","size":' + json.length;
  return '"kind":"ok","json":' + quote(json);
};
// Error text far over the budget is cut here (head and tail), so 50 MB never becomes JSON or
// leaves the isolate; what is kept fits the budget in bytes, and the host cuts the rest exactly.
const capError = (text, errorBytes) => {
  if (!isString(text) || text.length <= errorBytes) return text;
  const keep = (errorBytes - 128) / 6 | 0;
  return text.slice(0, keep) + '\\n…[' + (text.length - 2 * keep) + ' characters of error message cut]…\\n' + text.slice(text.length - keep);
};
const threwOutcome = (error, errorBytes) => {
  const text = errorText(error);
  return '"kind":"threw","name":' + quote(capError(text[0], 256)) + ',"message":' + quote(capError(text[1], errorBytes));
};

// No async/await here: a promise resolved with an object looks up its \`then\`. The outcome
// promise is resolved with a string only, and the function's promise is followed through the
// captured Promise.prototype.then; a value that is not a promise is the result as it is.
const run = (fn, inputJson, metaJson, resultCap, call, errorBytes) => new PromiseOf((resolveOutcome) => {
  current = call;
  const lateBefore = late;
  late = 0;
  const input = parse(inputJson);
  const meta = parse(metaJson);
  const ctx = freeze({
    executionId: meta.executionId,
    function: freeze({ name: meta.name, version: meta.version }),
    deadline: meta.deadline,
    log: (...args) => write(call, 'log', args),
    fetch: fetchFor(call),
  });
  let done = false;
  // The outcome, as JSON text made of primitives only.
  const finish = (fields) => {
    if (done) return;
    done = true;
    const logs = pending;
    pending = '';
    current = 0;
    apply(mapClear, timers, []);
    apply(mapClear, fetches, []);
    const outcome = '{' + fields + ',"logs":' + quote(logs) + ',"late":' + (lateBefore + 0) + '}';
    if (inSyncCall) finishedNow = outcome;
    resolveOutcome(outcome);
  };
  let value;
  try {
    value = fn(input, ctx);
  } catch (error) {
    finish(threwOutcome(error, errorBytes));
    return;
  }
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    finish(valueOutcome(value, resultCap));
    return;
  }
  try {
    apply(promiseThen, value, [(result) => finish(valueOutcome(result, resultCap)), (error) => finish(threwOutcome(error, errorBytes))]);
  } catch (error) {
    // Not a promise (the builtin's own TypeError): the object is the result.
    if (error instanceof TypeErrorOf) finish(valueOutcome(value, resultCap));
    else finish(threwOutcome(error, errorBytes));
  }
});
// The host's synchronous entry: the outcome text when the call finished before returning (a
// function that returned a value or threw), '' when it is still pending; then \`wait\` hands the
// host the outcome promise to await. A sync call saves the host a thread hop per invocation.
let inSyncCall = false;
let finishedNow;
let waiting;
const runNow = (fn, inputJson, metaJson, resultCap, call, errorBytes) => {
  finishedNow = undefined;
  inSyncCall = true;
  let outcome;
  try { outcome = run(fn, inputJson, metaJson, resultCap, call, errorBytes); } finally { inSyncCall = false; }
  const now = finishedNow;
  finishedNow = undefined;
  if (now !== undefined) return now;
  waiting = outcome;
  return '';
};
const wait = () => { const outcome = waiting; waiting = undefined; return outcome; };
return freeze({ run, runNow, wait, fire, deliver });
`;
