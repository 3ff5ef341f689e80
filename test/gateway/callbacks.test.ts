/**
 * `?async=1&callback=URL`: the finished record is POSTed to a loopback receiver with a valid
 * `Strata-Signature`, retried with backoff on 5xx, given up on 4xx; destinations off loopback
 * are refused before any socket is opened (checkCallbackUrl never resolves or connects).
 */
import { createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCallbackUrl } from '../../src/callbacks/destination.ts';
import { sign, verify } from '../../src/callbacks/signature.ts';
import { errorOf, jsFunction, startTestWorker, type TestWorker } from './support.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback receiver answering each POST with the next status of `script` (then 200). */
async function receiver(script: number[] = []) {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    /** Resolves once `n` deliveries arrived. */
    async count(n: number) {
      while (received.length < n) await new Promise<void>((r) => waiters.push(r));
      return received;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const KEY = 'test-callback-key';
let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker({
    'callbacks.signingKey': KEY,
    'callbacks.backoff': '10ms',
    'callbacks.backoffMax': '40ms',
    'callbacks.attempts': 3,
  });
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

  it('refuse a callback without async, or off loopback, before running anything', async () => {
    const sync = await t.call('POST', '/v1/functions/notify/invoke?callback=http://127.0.0.1:1/x', { n: 1 });
    expect(sync.status).toBe(400);
    expect((await errorOf(sync)).message).toContain('async=1');
    for (const url of ['http://10.0.0.1/hook', 'https://example.com/hook', 'http://[::ffff:7f00:1]/x']) {
      const res = await invokeWithCallback(url);
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe('destination_forbidden');
    }
    for (const url of ['ftp://127.0.0.1/x', 'not a url']) expect((await invokeWithCallback(url)).status).toBe(400);
  });
});

describe('the destination check and the signature', () => {
  it('allows loopback http(s) only', () => {
    for (const ok of ['http://127.0.0.1:9/x', 'https://127.5.6.7/', 'http://localhost:80/', 'http://[::1]:8080/']) {
      expect(checkCallbackUrl(ok).href).toBeTruthy();
    }
    for (const bad of ['http://192.168.1.1/', 'http://169.254.169.254/latest', 'http://127.0.0.1.example.com/']) {
      expect(() => checkCallbackUrl(bad)).toThrow(expect.objectContaining({ code: 'destination_forbidden' }));
    }
  });

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
    const w = await startTestWorker();
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
