/**
 * `?async=1&callback=URL`: the finished record is POSTed to a loopback receiver (admitted by
 * `http.allow`) with a valid `Strata-Signature`, retried with backoff on 5xx, given up on 4xx;
 * destinations the SSRF guard refuses (private, metadata, the worker's own port, a name that
 * rebinds) are refused before any socket is opened. Names go to a fake resolver only.
 */
import { createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackSender } from '../../src/callbacks/sender.ts';
import { sign, verify } from '../../src/callbacks/signature.ts';
import { DestinationGuard, type Resolver } from '../../src/net/destination-guard.ts';
import { errorOf, jsFunction, startTestWorker, type TestWorker } from './support.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback receiver answering each POST with the next status of `script` (then 200). */
async function receiver(script: number[] = []) {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(script.shift() ?? 200).end();
      for (const wake of waiters.splice(0)) wake();
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/hook`;
  return {
    url,
    port,
    received,
    connections: () => connections,
    /** Resolves once `n` deliveries arrived. */
    async count(n: number) {
      while (received.length < n) await new Promise<void>((r) => waiters.push(r));
      return received;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A fake resolver: never a real lookup; names answer the addresses the tests need. */
const lookups: string[] = [];
const fakeResolve: Resolver = async (host) => {
  lookups.push(host);
  const answers: Record<string, string> = {
    'hooks.test': '127.0.0.1',
    'private.test': '10.0.0.5',
    'metadata.test': '169.254.169.254',
  };
  const address = answers[host];
  if (!address) throw new Error(`no such name ${host}`);
  return [{ address, family: 4 }];
};

const KEY = 'test-callback-key';
let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker(
    {
      'callbacks.signingKey': KEY,
      'callbacks.backoff': '10ms',
      'callbacks.backoffMax': '40ms',
      'callbacks.attempts': 3,
      // Loopback is refused by default; the operator admits it (as for the http runtime).
      'http.allow': '127.0.0.1',
    },
    { resolve: fakeResolve },
  );
  await t.call('POST', '/v1/functions', jsFunction('notify', 'export default (i) => ({ doubled: i.n * 2 })'));
});
afterAll(async () => {
  await t?.close();
});

const invokeWithCallback = async (callback: string) =>
  t.call('POST', `/v1/functions/notify/invoke?async=1&callback=${encodeURIComponent(callback)}`, { n: 21 });

describe('callbacks', () => {
  it('POST the finished record, signed', async () => {
    const hook = await receiver();
    try {
      const res = await invokeWithCallback(hook.url);
      expect(res.status).toBe(202);
      const { executionId } = (await res.json()) as { executionId: string };
      const [delivery] = await hook.count(1);
      const record = JSON.parse(delivery?.body ?? '') as { id: string; status: string; result: unknown };
      expect(record).toMatchObject({ id: executionId, status: 'succeeded', result: { doubled: 42 } });
      expect(delivery?.headers['content-type']).toBe('application/json');
      expect(delivery?.headers['strata-execution-id']).toBe(executionId);
      const signature = String(delivery?.headers['strata-signature']);
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verify(KEY, delivery?.body ?? '', signature)).toBe(true);
      expect(verify('another-key', delivery?.body ?? '', signature)).toBe(false);
      expect(verify(KEY, `${delivery?.body} `, signature)).toBe(false);
    } finally {
      await hook.close();
    }
  });

  it('retry a 5xx with backoff until delivered, counting attempts', async () => {
    const hook = await receiver([503, 500]);
    try {
      expect((await invokeWithCallback(hook.url)).status).toBe(202);
      const deliveries = await hook.count(3);
      expect(deliveries.map((d) => d.headers['strata-delivery-attempt'])).toEqual(['1', '2', '3']);
      // The same record each time, each signed afresh.
      expect(new Set(deliveries.map((d) => d.body)).size).toBe(1);
      for (const d of deliveries) expect(verify(KEY, d.body, String(d.headers['strata-signature']))).toBe(true);
    } finally {
      await hook.close();
    }
  });

  it('give up on a 4xx without retrying', async () => {
    const hook = await receiver([410]);
    try {
      await invokeWithCallback(hook.url);
      await hook.count(1);
      // A second invocation's delivery arriving proves the first was not retried in between.
      await invokeWithCallback(hook.url);
      const deliveries = await hook.count(2);
      expect(deliveries.map((d) => d.headers['strata-delivery-attempt'])).toEqual(['1', '1']);
    } finally {
      await hook.close();
    }
  });

  it('deliver to an admitted loopback name through the pinned address', async () => {
    const hook = await receiver();
    try {
      const res = await invokeWithCallback(`http://hooks.test:${hook.port}/hook`);
      expect(res.status).toBe(202);
      const [delivery] = await hook.count(1);
      expect(verify(KEY, delivery?.body ?? '', String(delivery?.headers['strata-signature']))).toBe(true);
      expect(delivery?.headers.host).toBe(`hooks.test:${hook.port}`);
    } finally {
      await hook.close();
    }
  });

  it('refuse a callback without async, or to a forbidden destination, before running anything', async () => {
    const sync = await t.call('POST', '/v1/functions/notify/invoke?callback=http://127.0.0.1:1/x', { n: 1 });
    expect(sync.status).toBe(400);
    expect((await errorOf(sync)).message).toContain('async=1');
    const before = lookups.length;
    for (const url of [
      'http://10.0.0.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://private.test/hook',
      'http://metadata.test/latest',
      'https://example.com/hook',
    ]) {
      const res = await invokeWithCallback(url);
      expect(res.status, url).toBe(403);
      expect((await errorOf(res)).code).toBe('destination_forbidden');
    }
    // The names went to the fake resolver, never to the system's.
    expect(lookups.slice(before)).toEqual(['private.test', 'metadata.test', 'example.com']);
    for (const url of ['ftp://127.0.0.1/x', 'not a url']) expect((await invokeWithCallback(url)).status).toBe(400);
  });
});

describe('the sender and the guard', () => {
  const record = { id: 'exec-1', status: 'succeeded' } as never;
  const sender = (guard: DestinationGuard) =>
    new CallbackSender({
      key: KEY,
      attempts: 2,
      backoffMs: 1,
      backoffMaxMs: 1,
      timeoutMs: 10_000,
      logger: pino({ level: 'silent' }),
      guard,
    });

  it('refuse loopback unless http.allow admits it', async () => {
    const s = sender(new DestinationGuard({ resolve: fakeResolve }));
    await expect(s.check('http://127.0.0.1:9/x')).rejects.toMatchObject({ code: 'destination_forbidden' });
    await expect(s.check('http://private.test/x')).rejects.toMatchObject({ code: 'destination_forbidden' });
  });

  it("refuse the worker's own port even when loopback is admitted, opening no socket", async () => {
    const own = await receiver();
    try {
      const guard = new DestinationGuard({
        operatorAllow: ['127.0.0.1'],
        resolve: fakeResolve,
        protected: () => [{ host: '127.0.0.1', port: own.port }],
      });
      const s = sender(guard);
      await expect(s.check(own.url)).rejects.toMatchObject({ code: 'destination_forbidden' });
      const outcome = await s.deliver(`http://hooks.test:${own.port}/x`, record);
      expect(outcome).toMatchObject({ delivered: false });
      expect(own.connections()).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('check again at delivery: a name rebinding to the metadata address after submit gets no socket', async () => {
    const hook = await receiver();
    try {
      const answers = ['127.0.0.1', '169.254.169.254'];
      const rebinding: Resolver = async () => [{ address: answers.shift() ?? '169.254.169.254', family: 4 }];
      const s = sender(new DestinationGuard({ operatorAllow: ['127.0.0.1'], resolve: rebinding }));
      const url = `http://rebind.test:${hook.port}/x`;
      await expect(s.check(url)).resolves.toMatchObject({ admitted: { address: '127.0.0.1' } });
      const outcome = await s.deliver(url, record);
      expect(outcome).toMatchObject({ delivered: false });
      expect(outcome.delivered ? '' : outcome.reason).toContain('169.254.169.254');
      expect(hook.connections()).toBe(0);
    } finally {
      await hook.close();
    }
  });

  it('an admitted loopback server receives the signed record', async () => {
    const hook = await receiver();
    try {
      const s = sender(new DestinationGuard({ operatorAllow: ['127.0.0.1'], resolve: fakeResolve }));
      const outcome = await s.deliver(`http://hooks.test:${hook.port}/x`, record);
      expect(outcome).toEqual({ delivered: true, attempts: 1, status: 200 });
      const [delivery] = await hook.count(1);
      expect(JSON.parse(delivery?.body ?? '')).toEqual({ id: 'exec-1', status: 'succeeded' });
      expect(verify(KEY, delivery?.body ?? '', String(delivery?.headers['strata-signature']))).toBe(true);
    } finally {
      await hook.close();
    }
  });
});

describe('the signature', () => {
  it('signs "t.body" with HMAC-SHA256 and refuses stale timestamps', () => {
    const header = sign('k', '{"a":1}', 1_700_000_000);
    const mac = createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex');
    expect(header).toBe(`t=1700000000,v1=${mac}`);
    expect(verify('k', '{"a":1}', header, 300, 1_700_000_100)).toBe(true);
    expect(verify('k', '{"a":1}', header, 300, 1_700_000_400)).toBe(false);
    expect(verify('k', '{"a":1}', 'garbage')).toBe(false);
  });
});

describe('without a configured key', () => {
  it('the worker makes one in its data dir (0600) and signs with it', async () => {
    const w = await startTestWorker({ 'http.allow': '127.0.0.1' });
    const hook = await receiver();
    try {
      const file = join(w.dataDir, 'callback-signing-key');
      const key = readFileSync(file, 'utf8').trim();
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      await w.call('POST', '/v1/functions', jsFunction('n2', 'export default () => 1'));
      await w.call('POST', `/v1/functions/n2/invoke?async=1&callback=${encodeURIComponent(hook.url)}`, '{}');
      const [delivery] = await hook.count(1);
      expect(verify(key, delivery?.body ?? '', String(delivery?.headers['strata-signature']))).toBe(true);
    } finally {
      await hook.close();
      await w.close();
    }
  });
});
