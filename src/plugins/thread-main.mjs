/**
 * The body of a plugin's worker thread (plain JavaScript: a .ts entry would make every new thread
 * load Node's TypeScript stripper first, 100-300 ms of each hot add; the messages are typed in
 * protocol.ts): imports the plugin's `main`, calls its factory with `ctx`
 * and answers the host's calls. Plugin code runs here, never on the event loop that serves HTTP,
 * so a hook spinning in `while (true)` only stalls this thread, which the host then terminates.
 * `ctx` is built from messages: the plugin reaches nothing of the worker but what it offers.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('thread-main.mjs runs only as a worker thread');
const data = workerData;

const post = (message) => {
  try {
    port.postMessage(message);
  } catch (err) {
    // A value the structured clone cannot copy (a function, a symbol): say so instead.
    if (message && typeof message === 'object' && message.t === 'result') {
      const id = message.id;
      port.postMessage({ t: 'result', id, ok: false, error: `the answer cannot be copied: ${err.message}` });
    }
  }
};

const text = (err) => (err instanceof Error ? err.message : String(err));

const log = (level) => (msg, extra) => {
  const fields = extra && typeof extra === 'object' ? extra : undefined;
  post({ t: 'log', level, msg: String(msg), ...(fields ? { data: fields } : {}) });
};

const metric = (op) => (name, help, labelNames) => {
  post({ t: 'metric', op, name, help: help ?? name, labelNames: labelNames ?? [] });
  const update = (kind) => (a, b) => {
    const labels = a && typeof a === 'object' ? a : undefined;
    const value = typeof a === 'number' ? a : typeof b === 'number' ? b : undefined;
    post({ t: 'metric', op: kind, name, ...(labels ? { labels } : {}), ...(value !== undefined ? { value } : {}) });
  };
  return { inc: update('inc'), set: update('set'), observe: update('observe') };
};

const ctx = Object.freeze({
  name: data.name,
  config: data.config,
  log: Object.freeze({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }),
  metrics: Object.freeze({ counter: metric('counter'), gauge: metric('gauge'), histogram: metric('histogram') }),
  alert: (message, details) =>
    post({
      t: 'alert',
      message: String(message),
      ...(details && typeof details === 'object' ? { details } : {}),
    }),
});

let plugin;
let driver;
const prepared = new Map();
let nextPrepared = 1;
const runs = new Map();

async function boot() {
  const mod = await import(pathToFileURL(data.main).href);
  if (typeof mod.default !== 'function') throw new Error('main must have a default export: a factory (ctx) => plugin');
  const made = await mod.default(ctx);
  if (!made || typeof made !== 'object') throw new Error('the factory must return a plugin object');
  plugin = made;
  let driverInfo;
  if (typeof plugin.driver === 'function') {
    driver = await plugin.driver(ctx);
    if (!driver || typeof driver !== 'object') throw new Error('driver(ctx) must return a driver object');
    const runtimes = Array.isArray(plugin.runtimes) ? plugin.runtimes : undefined;
    const caps = { ...(driver.capabilities ?? {}), ...(runtimes ? { runtimes } : {}) };
    const health = typeof driver.health === 'function' ? await driver.health() : { available: true };
    driverInfo = { tier: typeof driver.tier === 'string' ? driver.tier : data.name, capabilities: caps, health };
    if (typeof driver.onHealthChange === 'function') driver.onHealthChange((h) => post({ t: 'health', health: h }));
  }
  post({
    t: 'ready',
    has: {
      init: typeof plugin.init === 'function',
      unload: typeof plugin.unload === 'function',
      pre: typeof plugin.pre === 'function',
      post: typeof plugin.post === 'function',
      onEvent: typeof plugin.onEvent === 'function',
    },
    ...(driverInfo ? { driver: driverInfo } : {}),
  });
}

function method(target, name) {
  const fn = target?.[name];
  if (typeof fn !== 'function') throw new Error(`the plugin has no ${name}()`);
  return fn.bind(target);
}

async function call(op, args) {
  switch (op) {
    case 'ping':
      return 'pong';
    case 'init':
      return typeof plugin.init === 'function' ? await method(plugin, 'init')() : undefined;
    case 'unload':
      return typeof plugin.unload === 'function' ? await method(plugin, 'unload')() : undefined;
    case 'pre':
      return await method(plugin, 'pre')(args[0]);
    case 'post':
      return await method(plugin, 'post')(args[0]);
    case 'event':
      return await method(plugin, 'onEvent')(args[0]);
    case 'driver.start':
      return typeof driver?.start === 'function' ? await method(driver, 'start')() : undefined;
    case 'driver.health':
      return typeof driver?.health === 'function' ? await method(driver, 'health')() : { available: true };
    case 'driver.prepare': {
      const value = await method(driver, 'prepare')(args[0]);
      const handle = nextPrepared++;
      prepared.set(handle, value);
      return handle;
    }
    case 'driver.run': {
      const [handle, invocation, options] = args;
      if (!prepared.has(handle)) throw new Error('unknown prepared handle');
      const controller = new AbortController();
      runs.set(options.runId, controller);
      try {
        return await method(driver, 'run')(prepared.get(handle), invocation, {
          deadline: options.deadline,
          limits: options.limits,
          signal: controller.signal,
          logs: { write: (t) => post({ t: 'runLog', runId: options.runId, text: String(t) }) },
          onStart: () => post({ t: 'runStart', runId: options.runId }),
        });
      } finally {
        runs.delete(options.runId);
      }
    }
    case 'driver.forget':
      if (typeof driver?.forget === 'function') method(driver, 'forget')(args[0]);
      return undefined;
    case 'driver.dispose':
      return typeof driver?.dispose === 'function' ? await method(driver, 'dispose')() : undefined;
  }
}

const isThenable = (v) =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';

/** A hook answered synchronously is posted at once: no async wrapper, no extra microtask turns. */
function hot(op, arg) {
  if (op === 'pre') return method(plugin, 'pre')(arg);
  if (op === 'post') return method(plugin, 'post')(arg);
  return method(plugin, 'onEvent')(arg);
}

port.on('message', (message) => {
  if (message.t === 'abort') {
    const error = Object.assign(new Error(message.reason.message), { code: message.reason.code });
    runs.get(message.runId)?.abort(error);
    return;
  }
  const { id, op, args } = message;
  let value;
  try {
    value = op === 'pre' || op === 'post' || op === 'event' ? hot(op, args[0]) : call(op, args);
  } catch (err) {
    post({ t: 'result', id, ok: false, error: text(err) });
    return;
  }
  if (!isThenable(value)) {
    post({ t: 'result', id, ok: true, value });
    return;
  }
  value.then(
    (v) => post({ t: 'result', id, ok: true, value: v }),
    (err) => post({ t: 'result', id, ok: false, error: text(err) }),
  );
});

boot().catch((err) => post({ t: 'failed', error: text(err) }));
