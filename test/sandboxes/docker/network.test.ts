/**
 * Network egress of the docker tier (issue 16 item 2). Containers keep `NetworkMode: none`; a
 * function granted `permissions.network` reaches out only through the worker's egress proxy,
 * listening at 127.0.0.1:3128 inside the container's own network namespace. Every server here
 * listens on the host's 127.0.0.1, names resolve through a fake resolver, and the proxy's upstream
 * connections go through a counting connect that refuses anything but loopback: no packet leaves
 * this machine, even by mistake.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { DockerDriver } from '../../../sandboxes/docker/driver.ts';
import type { RunOutcome } from '../../../src/core/execution.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import type { ManifestInput } from '../../../src/core/manifest.ts';
import { type Counted, close, httpServer, loopbackConnect, testResolver } from '../../support/counted-server.ts';
import { describeIf } from '../../support/requirements.ts';
import { SUITE_START_MS } from './daemon-lock.ts';
import {
  artifact,
  dockerRequirement,
  invocation,
  runOptions,
  startSuiteDriver,
  stopSuiteDriver,
  uniqueWorkerId,
} from './helpers.ts';

/** The root/nsenter/local-daemon facilities egress needs, on top of a daemon. */
function egressRequirement() {
  const d = dockerRequirement();
  if (!d.ok) return d;
  if (process.getuid?.() !== 0) return { ok: false, reason: 'egress into containers needs root (nsenter)' };
  return { ok: true };
}

describeIf(egressRequirement(), 'docker tier: network egress through the proxy', () => {
  const workerId = uniqueWorkerId('net');
  let driver: DockerDriver;
  let target: Counted; // admitted by the operator allow-list
  let other: Counted; // a host loopback server nobody admitted
  let worker: Counted; // stands for the worker's own API: admitted by the operator, but protected
  let opened: string[] = [];
  const counting = loopbackConnect((hostPort) => opened.push(hostPort));
  const resolve = testResolver;

  beforeAll(async () => {
    target = await httpServer('from the target');
    other = await httpServer('must not be reached');
    worker = await httpServer('worker API: must not be reached');
    driver = await startSuiteDriver({ poolMin: 0, poolMaxPerKey: 1 }, workerId, {
      egress: {
        allow: [`127.0.0.1:${target.port}`, `127.0.0.1:${worker.port}`],
        protected: () => [{ host: '127.0.0.1', port: worker.port }],
        resolve,
        connect: counting,
      },
    });
  }, SUITE_START_MS);
  afterAll(async () => {
    await stopSuiteDriver(driver, workerId);
    await Promise.all([close(target), close(other), close(worker)]);
  });
  afterEach(() => {
    opened = [];
  });

  async function run(
    manifest: Partial<ManifestInput> & { name: string },
    input: unknown = {},
    limits: Partial<ResolvedLimits> = {},
  ): Promise<{ outcome: RunOutcome; logs: string }> {
    const p = await driver.prepare(artifact({ trust: 'untrusted', ...manifest } as ManifestInput));
    const r = runOptions({ timeoutMs: 30_000, ...limits });
    try {
      const outcome = await driver.run(p, invocation(input), r.options);
      return { outcome, logs: r.logs.text() };
    } finally {
      r.dispose();
    }
  }

  it('says it can grant an allow-list and measures network bytes; health names the proxy', () => {
    expect(driver.capabilities).toMatchObject({ network: 'allowlist' });
    expect(driver.capabilities.measures).toEqual(expect.arrayContaining(['netRxBytes', 'netTxBytes']));
    expect(driver.health().details).toMatchObject({ egress: { proxy: '127.0.0.1:3128' } });
  });

  it('JS fetch reaches an admitted loopback server via the proxy, but gets 403 from the worker API; bytes counted', async () => {
    // fetch (NODE_USE_ENV_PROXY) tunnels through CONNECT and rejects on a refused tunnel; a plain
    // proxy request on a raw socket shows the proxy's answer itself (node:http would follow the
    // proxy variables too).
    const source = `import net from 'node:net';
    const viaProxy = (host, path) => new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: 3128 });
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (c) => (text += c));
      s.on('end', () => resolve([Number(text.split(' ')[1]), text.slice(text.indexOf('\\r\\n\\r\\n') + 4)]));
      s.on('error', reject);
      s.write('POST http://' + host + path + ' HTTP/1.1\\r\\nHost: ' + host + '\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\n{}');
    });
    export default async ({ t, w }) => {
      const a = await fetch('http://127.0.0.1:' + t + '/hello');
      const b = await fetch('http://127.0.0.1:' + w + '/v1/functions').then((r) => r.status, (e) => 'rejected: ' + e.cause?.message);
      return {
        a: [a.status, await a.json()],
        b,
        c: await viaProxy('127.0.0.1:' + w, '/v1/functions'),
        proxy: process.env.HTTP_PROXY,
      };
    };`;
    const hits = worker.hits;
    const { outcome, logs } = await run(
      { name: 'net-js', runtime: 'js', source, permissions: { network: true } },
      { t: target.port, w: worker.port },
    );
    expect(outcome.status).toBe('succeeded');
    const r = outcome.result as { a: [number, unknown]; b: string; c: [number, string]; proxy: string };
    expect(r.a).toEqual([200, { body: 'from the target', path: '/hello' }]);
    expect(r.b).toMatch(/^rejected/);
    expect(r.c[0]).toBe(403);
    expect(r.c[1]).toContain("worker's own API");
    expect(r.proxy).toBe('http://127.0.0.1:3128');
    expect(worker.hits).toBe(hits);
    expect(opened).toEqual([`127.0.0.1:${target.port}`]);
    expect(logs).toMatch(/egress refused 127\.0\.0\.1:\d+: .*worker's own API/);
    expect(outcome.usage.measured).toEqual(expect.arrayContaining(['netRxBytes', 'netTxBytes']));
    expect(outcome.usage.netRxBytes).toBeGreaterThan(100);
    expect(outcome.usage.netTxBytes).toBeGreaterThan(50);
  });

  it('raw sockets from the container to 127.0.0.1 find only its own loopback (host ports refused)', async () => {
    const source = `import net from 'node:net';
    const tryConnect = (host, port) => new Promise((resolve) => {
      const s = net.connect({ host, port }, () => { s.destroy(); resolve('connected'); });
      s.on('error', (e) => resolve(e.code));
    });
    export default async ({ t, w }) => ({
      target: await tryConnect('127.0.0.1', t),
      worker: await tryConnect('127.0.0.1', w),
      v6: await tryConnect('::1', t),
      outside: await tryConnect('10.255.255.1', 80),
    });`;
    const hits = target.hits + worker.hits;
    const { outcome } = await run(
      { name: 'net-raw', runtime: 'js', source, permissions: { network: true } },
      { t: target.port, w: worker.port },
    );
    expect(outcome.status).toBe('succeeded');
    const r = outcome.result as Record<string, string>;
    expect(r.target).toBe('ECONNREFUSED');
    expect(r.worker).toBe('ECONNREFUSED');
    expect(r.v6).not.toBe('connected');
    // No route at all: refused before a packet exists.
    expect(r.outside).toMatch(/ENETUNREACH|EHOSTUNREACH|EADDRNOTAVAIL/);
    expect(target.hits + worker.hits).toBe(hits);
    expect(opened).toEqual([]);
  });

  it('a script (python urllib, bash /dev/tcp) uses the proxy; unadmitted loopback and metadata are refused', async () => {
    const source = [
      'import json, os, sys, urllib.request, urllib.error',
      'ports = json.load(sys.stdin)',
      'def get(url):',
      '    try:',
      '        with urllib.request.urlopen(url, timeout=10) as r: return [r.status, json.loads(r.read())]',
      '    except urllib.error.HTTPError as e: return [e.code, None]',
      'print(json.dumps({',
      '  "target": get(f"http://api.test:{ports[\'t\']}/py"),',
      '  "other": get(f"http://127.0.0.1:{ports[\'o\']}/"),',
      '  "meta": get("http://meta.test/latest/meta-data/"),',
      '}))',
    ].join('\n');
    const { outcome, logs } = await run(
      {
        name: 'net-py',
        runtime: 'script',
        interpreter: 'python3',
        source,
        permissions: { network: { allow: [`api.test:${target.port}`, '127.0.0.1', 'meta.test'] } },
      },
      { t: target.port, o: other.port },
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result).toEqual({
      target: [200, { body: 'from the target', path: '/py' }],
      other: [403, null],
      meta: [403, null],
    });
    expect(logs).toMatch(/egress refused 127\.0\.0\.1:\d+: .*a loopback address/);
    expect(logs).toMatch(/egress refused meta\.test:80: .*a metadata address/);
    expect(other.hits).toBe(0);
    expect(opened).toEqual([`127.0.0.1:${target.port}`]);
  });

  it("is held to the function's own allow-list", async () => {
    const source = `export default async ({ t }) =>
      fetch('http://127.0.0.1:' + t + '/').then((r) => r.status, (e) => 'rejected: ' + e.cause?.message);`;
    const { outcome, logs } = await run(
      { name: 'net-list', runtime: 'js', source, permissions: { network: { allow: ['127.0.0.1:1'] } } },
      { t: target.port },
    );
    expect(outcome.result).toMatch(/^rejected/);
    expect(logs).toContain("not in the function's permissions.network allow-list");
    expect(opened).toEqual([]);
  });

  it('a cold container (custom image) gets the proxy before its input', async () => {
    const image = driver.runnerImages().script as string;
    const py = [
      'import json, sys, urllib.request',
      'port = json.load(sys.stdin)',
      'print(urllib.request.urlopen(f"http://127.0.0.1:{port}/cold", timeout=10).read().decode())',
    ].join('\n');
    const { outcome } = await run(
      {
        name: 'net-cold',
        runtime: 'container',
        image,
        command: ['/usr/bin/python3', '-c', py],
        permissions: { network: true },
      },
      target.port,
    );
    expect(outcome).toMatchObject({ status: 'succeeded', result: { body: 'from the target', path: '/cold' } });
    expect(outcome.usage.netRxBytes).toBeGreaterThan(100);
  });

  it('without permissions.network there is no proxy: no variables, nothing listens', async () => {
    const source = `import net from 'node:net';
    export default async () => ({
      vars: Object.keys(process.env).filter((k) => /proxy/i.test(k)),
      proxy: await new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: 3128 }, () => { s.destroy(); resolve('listening'); });
        s.on('error', (e) => resolve(e.code));
      }),
    });`;
    const { outcome } = await run({ name: 'net-none', runtime: 'js', source });
    expect(outcome).toMatchObject({ status: 'succeeded', result: { vars: [], proxy: 'ECONNREFUSED' } });
    expect(outcome.usage.measured).not.toContain('netRxBytes');
  });
});

describeIf(dockerRequirement(), 'docker tier: network where egress cannot be set up', () => {
  const workerId = uniqueWorkerId('nonet');
  let driver: DockerDriver;
  beforeAll(async () => {
    driver = await startSuiteDriver({ poolMin: 0, nsenter: '/nonexistent/nsenter', scratch: 'tmpfs' }, workerId);
  }, SUITE_START_MS);
  afterAll(() => stopSuiteDriver(driver, workerId));

  it('declares no network, health says why, and a function asking for network is refused at prepare', async () => {
    expect(driver.capabilities.network).toBe('none');
    expect(driver.health().details).toMatchObject({
      egress: { unavailable: expect.stringMatching(/nonexistent\/nsenter not installed|not root/) },
    });
    await expect(
      driver.prepare(
        artifact({
          name: 'wants-net',
          runtime: 'js',
          trust: 'untrusted',
          source: 'export default () => 1',
          permissions: { network: { allow: ['127.0.0.1:80'] } },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'permission_denied',
      message: expect.stringContaining('permissions.network cannot be granted on this node'),
    });
  });
});
