/**
 * Network egress of the process tier. Every sandbox has its own network namespace; a granted one
 * reaches out only through the worker's egress proxy. Every server here listens on 127.0.0.1 of
 * the host, and the proxy's upstream connections go through a counting connect that refuses
 * anything but loopback: no packet leaves this machine, even by mistake.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type Counted, close, httpServer, loopbackConnect, testResolver } from '../../support/counted-server.ts';
import { describeIf } from '../../support/requirements.ts';
import {
  artifactOf,
  groupGone,
  itIf,
  processTierRequirement,
  pythonRequirement,
  type RunResult,
  readProcStatus,
  runScript,
  sandboxProcessesLeft,
  startTier,
  stopTier,
  type Tier,
} from './support.ts';

describeIf(processTierRequirement(), 'process tier: network egress', () => {
  let tier: Tier;
  let target: Counted; // admitted by the operator allow-list
  let other: Counted; // a host loopback server nobody admitted
  let worker: Counted; // stands for the worker's own API: admitted by the operator, but protected
  let opened: string[] = [];
  let last: RunResult | undefined;
  const counting = loopbackConnect((hostPort) => opened.push(hostPort));
  const resolve = testResolver;

  beforeAll(async () => {
    target = await httpServer('from the target');
    other = await httpServer('must not be reached');
    worker = await httpServer('worker API: must not be reached');
    tier = await startTier(
      'net',
      {},
      {
        allow: [`127.0.0.1:${target.port}`, `127.0.0.1:${worker.port}`],
        protected: () => [{ host: '127.0.0.1', port: worker.port }],
        resolve,
        connect: counting,
      },
    );
  });
  afterAll(async () => {
    await stopTier(tier);
    await Promise.all([close(target), close(other), close(worker)]);
  });
  afterEach(() => {
    if (last) expect(groupGone(last.groupDirs)).toBe(true);
    last = undefined;
    opened = [];
    expect(sandboxProcessesLeft(tier)).toEqual([]);
  });
  const run = async (...args: Parameters<typeof runScript> extends [unknown, ...infer R] ? R : never) => {
    last = await runScript(tier, ...args);
    return last;
  };

  it('curl through HTTP_PROXY reaches an operator-admitted loopback server; bytes are counted', async () => {
    const source = 'read -r port; curl -sS --max-time 10 "http://127.0.0.1:$port/hello"';
    const r = await run(
      { interpreter: 'bash', source, permissions: { network: { allow: [`127.0.0.1:${target.port}`] } } },
      target.port,
    );
    expect(r.logs).toBe('');
    expect(r.outcome).toMatchObject({ status: 'succeeded', result: { body: 'from the target', path: '/hello' } });
    expect(opened).toEqual([`127.0.0.1:${target.port}`]);
    expect(r.outcome.usage.measured).toEqual(expect.arrayContaining(['netRxBytes', 'netTxBytes']));
    expect(r.outcome.usage.netRxBytes).toBeGreaterThan(100);
    expect(r.outcome.usage.netTxBytes).toBeGreaterThan(50);
    expect(r.outcome.start).toMatchObject({ kind: 'fresh', initMs: expect.any(Number) });
  });

  it('CONNECT tunnels (curl --proxytunnel), a name the proxy resolves, and the Unix socket work too (legacy array form)', async () => {
    const source = [
      'read -r port',
      'curl -sS --max-time 10 --proxytunnel "http://api.test:$port/tunnel"; echo',
      'curl -sS --max-time 10 --noproxy "*" --unix-socket "$STRATA_EGRESS_SOCKET" "http://127.0.0.1:$port/unix"',
    ].join('\n');
    // The older array form of the allow-list: the same as {allow: [...]}.
    const network = [`api.test:${target.port}`, `127.0.0.1:${target.port}`];
    const r = await run({ interpreter: 'bash', source, permissions: { network } }, target.port);
    expect(r.outcome.status).toBe('succeeded');
    const lines = String(r.outcome.result)
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { body: 'from the target', path: '/tunnel' },
      { body: 'from the target', path: '/unix' },
    ]);
  });

  itIf(pythonRequirement(), 'python urllib uses the proxy from the environment', async () => {
    const source = [
      'import json, sys, urllib.request',
      'port = json.load(sys.stdin)',
      'print(urllib.request.urlopen(f"http://127.0.0.1:{port}/py", timeout=10).read().decode())',
    ].join('\n');
    const r = await run({ interpreter: 'python3', source, permissions: { network: true } }, target.port);
    expect(r.outcome).toMatchObject({ status: 'succeeded', result: { path: '/py' } });
  });

  it('node fetch uses the proxy (NODE_USE_ENV_PROXY)', async () => {
    const source = `let s='';for await (const c of process.stdin) s+=c;
      const r = await fetch('http://127.0.0.1:' + JSON.parse(s) + '/node'); console.log(await r.text());`;
    const r = await run({ interpreter: 'node', source, permissions: { network: true } }, target.port, {
      memoryMb: 256,
    });
    expect(r.outcome).toMatchObject({ status: 'succeeded', result: { path: '/node' } });
  });

  it('cannot reach a host loopback server the operator did not admit, nor metadata; no socket opened', async () => {
    const source = [
      'read -r port',
      'curl -s -o /dev/null -w "%{http_code}\\n" --max-time 10 "http://127.0.0.1:$port/"',
      'curl -s -o /dev/null -w "%{http_code}\\n" --max-time 10 "http://meta.test/latest/meta-data/"',
      // A refused CONNECT: curl reports the proxy's answer as http_connect (and exits non-zero).
      'curl -s -o /dev/null -w "%{http_connect}\\n" --max-time 10 --proxytunnel "http://[::1]:$port/"; true',
    ].join('\n');
    const r = await run({ interpreter: 'bash', source, permissions: { network: true } }, other.port);
    expect(r.outcome).toMatchObject({ status: 'succeeded', result: '403\n403\n403' });
    expect(r.logs).toMatch(/egress refused 127\.0\.0\.1:\d+: .*a loopback address/);
    expect(r.logs).toMatch(/egress refused meta\.test:80: .*a metadata address/);
    expect(other.hits).toBe(0);
    expect(opened).toEqual([]);
  });

  it("cannot reach the worker's own API, even though the operator admitted its address", async () => {
    const source = 'read -r port; curl -s -w "\\n%{http_code}" --max-time 10 "http://127.0.0.1:$port/v1/functions"';
    const r = await run({ interpreter: 'bash', source, permissions: { network: true } }, worker.port);
    expect(String(r.outcome.result)).toMatch(/worker's own API[\s\S]*\n403$/);
    expect(worker.hits).toBe(0);
    expect(opened).toEqual([]);
  });

  it("is held to the function's own allow-list", async () => {
    const source = 'read -r port; curl -s -o /dev/null -w "%{http_code}" --max-time 10 "http://127.0.0.1:$port/"';
    const r = await run(
      { interpreter: 'bash', source, permissions: { network: { allow: ['127.0.0.1:1'] } } },
      target.port,
    );
    expect(r.outcome.result).toBe(403);
    expect(r.logs).toContain("not in the function's permissions.network allow-list");
    expect(target.hits).toBeGreaterThan(0); // from the earlier tests only
    expect(opened).toEqual([]);
  });

  it('raw sockets bypassing the proxy find only the sandbox loopback: no host port, no route', async () => {
    const ports = [target.port, worker.port];
    const source = [
      'read -r a b',
      'for h in 127.0.0.1 ::1; do for p in $a $b; do',
      '  if (exec 3<>/dev/tcp/$h/$p) 2>/dev/null; then echo "connected $h $p"; else echo "refused $h $p"; fi',
      'done; done',
      'echo "routes4=$(tail -n +2 /proc/net/route | wc -l)"',
      'echo "routes6=$(grep -vc " lo$" /proc/net/ipv6_route)"',
      'echo "ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" " ")"',
    ].join('\n');
    const hits = target.hits + worker.hits;
    const r = await run(
      { interpreter: 'bash', source, permissions: { network: true } },
      ports.join(' '),
      {},
      undefined,
    );
    const text = String(r.outcome.result);
    expect(text).not.toContain('connected');
    expect(text.match(/refused/g)).toHaveLength(4);
    // No IPv4 route at all and no IPv6 route but loopback's: a socket to any other address fails
    // with "network unreachable" before a packet exists.
    expect(text).toMatch(/routes4=0\b/);
    expect(text).toMatch(/routes6=0\b/);
    expect(text).toMatch(/ifaces=lo \n?$/);
    expect(target.hits + worker.hits).toBe(hits);
  });

  it('without permissions.network there is no proxy: no variables, nothing listens', async () => {
    const source =
      'env | grep -ci proxy; if (exec 3<>/dev/tcp/127.0.0.1/3128) 2>/dev/null; then echo listening; else echo none; fi; test -e /run/strata/egress.sock && echo socket || echo nosocket';
    const r = await run({ interpreter: 'bash', source });
    expect(r.outcome.result).toBe('0\nnone\nnosocket');
  });

  it('refuses at prepare an allow-list entry it cannot enforce (the manifest schema lets it through)', async () => {
    const bad = (allow: string[]) => ({
      name: 'bad-net',
      runtime: 'script' as const,
      interpreter: 'sh' as const,
      source: 'true',
      permissions: { network: { allow } },
    });
    // A URL is refused by the manifest schema already (400 at deploy).
    expect(() => artifactOf(bad(['https://api.example.com/v1']))).toThrow(/allow-list entry/);
    // A zone id names an interface of whichever host runs it: the guard cannot enforce that.
    await expect(tier.driver.prepare(artifactOf(bad(['fe80::1%eth0'])))).rejects.toMatchObject({
      code: 'permission_denied',
      message: expect.stringContaining('permissions.network cannot be enforced'),
    });
  });
});

describeIf(processTierRequirement(), 'process tier: network where egress cannot be set up', () => {
  let tier: Tier;
  beforeAll(async () => {
    tier = await startTier('nonet', { nsenter: '/nonexistent/nsenter' });
  });
  afterAll(async () => stopTier(tier));

  it('health says so and a function asking for network is refused at prepare, with the reason', async () => {
    expect(tier.driver.health()).toMatchObject({
      available: true,
      details: { egress: { unavailable: expect.stringContaining('/nonexistent/nsenter not installed') } },
    });
    const a = artifactOf({
      name: 'wants-net',
      runtime: 'script',
      interpreter: 'sh',
      source: 'true',
      permissions: { network: true },
    });
    await expect(tier.driver.prepare(a)).rejects.toMatchObject({
      code: 'permission_denied',
      message: expect.stringContaining('permissions.network cannot be granted on this node'),
    });
    // Without network it still runs.
    const r = await runScript(tier, { interpreter: 'sh', source: 'echo ok' });
    expect(r.outcome.result).toBe('ok');
  });
});

describeIf(processTierRequirement(), 'process tier: stopped while the egress listener is being set up', () => {
  let tier: Tier;
  let dir: string;
  beforeAll(async () => {
    // An nsenter that answers --version (so health offers egress) and then never opens a listener.
    dir = mkdtempSync(join(tmpdir(), 'strata-fake-nsenter-'));
    const fake = join(dir, 'nsenter');
    writeFileSync(
      fake,
      `#!/bin/sh\nif [ "$1" = --version ]; then echo "nsenter (fake)"; exit 0; fi\necho $$ > ${dir}/pid\nexec sleep 60\n`,
      { mode: 0o755 },
    );
    tier = await startTier('hang', { nsenter: fake });
  });
  afterAll(async () => {
    await stopTier(tier);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the deadline ends it at once: the script never runs, the helper is killed, nothing is left', async () => {
    const t = performance.now();
    const r = await runScript(
      tier,
      { interpreter: 'bash', source: 'echo ran >&2; echo ran', permissions: { network: true } },
      null,
      { timeoutMs: 1500 },
    );
    // Before the listener's own 10 s set-up timeout: the abort, not the timeout, ended it.
    expect(performance.now() - t).toBeLessThan(8000);
    expect(r.outcome).toMatchObject({ status: 'timeout', error: { code: 'timeout' }, death: { cause: 'time' } });
    expect(r.outcome.start).toBeUndefined();
    expect(r.logs).not.toContain('ran');
    const helper = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    await expect
      .poll(() => readProcStatus(helper)?.match(/^State:\s+(\S)/m)?.[1] ?? 'gone', { timeout: 5000 })
      .toMatch(/gone|Z/);
    expect(sandboxProcessesLeft(tier)).toEqual([]);
    expect(tier.driver.running().size).toBe(0);
  });
});
