/**
 * The SSRF table through the http tier's driver: a fake resolver answers each forbidden class,
 * and the transport (the only thing that opens sockets) records every call, so "refused" means
 * no socket was opened. Also: literals, IPv4-mapped IPv6, a name answering one public and one
 * private address, redirects to forbidden places, non-http schemes.
 */
import { describe, expect, it } from 'vitest';
import { HttpDriver } from '../../sandboxes/http/driver.ts';
import type { Transport } from '../../sandboxes/http/request.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Artifact } from '../../src/core/driver.ts';
import { LogBudget } from '../../src/core/log-budget.ts';
import { resolveLimits } from '../../src/executor/limits.ts';
import { DestinationGuard } from '../../src/net/destination-guard.ts';
import { parseManifest } from '../../src/registry/registry.ts';

const config = loadConfig({ env: {} });

function driverWith(answers: Record<string, string[]>, opened: string[]) {
  const transport: Transport = (url) => {
    opened.push(url.href);
    throw new Error('the test transport never connects');
  };
  return new HttpDriver({
    guard: new DestinationGuard({
      resolve: async (host) =>
        (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    }),
    secret: () => undefined,
    maxResponseBytes: 1024,
    transport,
  });
}

const artifact = (url: string): Artifact => ({
  digest: `d-${url}`,
  name: 'ssrf',
  version: 1,
  manifest: parseManifest({ name: 'ssrf', runtime: 'http', url }),
  code: new Uint8Array(),
});

const CLASSES: [string, string][] = [
  ['loopback', '127.0.0.1'],
  ['loopback', '::1'],
  ['private', '10.1.2.3'],
  ['private', '172.16.5.4'],
  ['private', '192.168.1.1'],
  ['link-local', '169.254.10.10'],
  ['metadata', '169.254.169.254'],
  ['metadata', 'fd00:ec2::254'],
  ['cgnat', '100.64.0.1'],
  ['multicast', '224.0.0.1'],
  ['multicast', 'ff02::1'],
  ['ipv4-mapped', '::ffff:10.0.0.1'],
  ['unique-local', 'fd12:3456::1'],
  ['link-local', 'fe80::1'],
  ['this-network', '0.0.0.0'],
];

describe('SSRF guard in the http tier', () => {
  it.each(CLASSES)('refuses a name resolving to %s (%s) at deploy, with no socket', async (cls, address) => {
    const opened: string[] = [];
    const driver = driverWith({ 'evil.test': [address] }, opened);
    await expect(driver.prepare(artifact('http://evil.test/'))).rejects.toMatchObject({
      code: 'destination_forbidden',
      message: expect.stringContaining(cls),
    });
    expect(opened).toEqual([]);
  });

  it.each(CLASSES)('refuses the literal %s (%s)', async (_cls, address) => {
    const opened: string[] = [];
    const driver = driverWith({}, opened);
    const host = address.includes(':') ? `[${address}]` : address;
    await expect(driver.prepare(artifact(`http://${host}/`))).rejects.toMatchObject({ code: 'destination_forbidden' });
    expect(opened).toEqual([]);
  });

  it('refuses a name with one public and one private address', async () => {
    const opened: string[] = [];
    const driver = driverWith({ 'mixed.test': ['93.184.216.34', '10.0.0.5'] }, opened);
    await expect(driver.prepare(artifact('http://mixed.test/'))).rejects.toMatchObject({
      code: 'destination_forbidden',
    });
    expect(opened).toEqual([]);
  });

  it('rebinding: checked public at deploy, private at run -> failed destination_forbidden, no socket', async () => {
    const opened: string[] = [];
    const answers = { 'rebind.test': ['93.184.216.34'] };
    const driver = driverWith(answers, opened);
    const a = artifact('http://rebind.test/');
    const prepared = await driver.prepare(a);
    answers['rebind.test'] = ['169.254.169.254'];
    const outcome = await driver.run(
      prepared,
      { id: 'x', input: {}, inputJson: '{}', priority: 0 },
      {
        deadline: Date.now() + 10_000,
        limits: resolveLimits({}, config.limits),
        signal: new AbortController().signal,
        logs: new LogBudget(4096),
      },
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('destination_forbidden');
    expect(outcome.error?.message).toContain('metadata');
    expect(opened).toEqual([]);
  });

  it('refuses schemes other than http and https at manifest validation', () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'gopher://x/']) {
      expect(() => parseManifest({ name: 'x', runtime: 'http', url })).toThrow(/http/);
    }
  });
});

describe('redirects with http.followRedirects', () => {
  it('re-checks every hop: a redirect to a forbidden address fails destination_forbidden without connecting there', async () => {
    const { upstream } = await import('./support.ts');
    const api = await upstream((req, res) => {
      if (req.url === '/hop') {
        res.statusCode = 302;
        res.setHeader('location', '/final');
        res.end();
      } else if (req.url === '/away') {
        res.statusCode = 302;
        // 127.0.0.2 is loopback too (safe here), but the operator admitted only 127.0.0.1.
        res.setHeader('location', `http://127.0.0.2:${api.port}/final`);
        res.end();
      } else {
        res.setHeader('content-type', 'application/json');
        res.end('{"final":true}');
      }
    });
    try {
      const driver = new HttpDriver({
        guard: new DestinationGuard({ operatorAllow: ['127.0.0.1'] }),
        secret: () => undefined,
        maxResponseBytes: 1024,
        followRedirects: true,
      });
      const run = async (path: string) => {
        const a = { ...artifact(`${api.url}${path}`), digest: path };
        return driver.run(
          await driver.prepare(a),
          { id: path, input: {}, inputJson: '{}', priority: 0 },
          {
            deadline: Date.now() + 10_000,
            limits: resolveLimits({}, config.limits),
            signal: new AbortController().signal,
            logs: new LogBudget(4096),
          },
        );
      };
      expect(await run('/hop')).toMatchObject({ status: 'succeeded', result: { final: true } });
      const before = api.connections;
      const away = await run('/away');
      expect(away.status).toBe('failed');
      expect(away.error).toMatchObject({ code: 'destination_forbidden' });
      expect(away.error?.message).toContain('127.0.0.2');
      // One connection for the first hop; none to the forbidden one.
      expect(api.connections - before).toBe(1);
    } finally {
      await api.close();
    }
  });
});
