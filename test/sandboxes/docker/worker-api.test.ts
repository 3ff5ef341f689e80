/**
 * Issue 16 item 2 for the docker tier, end to end through a real worker: a container with network
 * must not reach its worker's API. The operator admits the whole loopback range (the worst case:
 * `http.allow = 127.0.0.0/8`); a trusted container function still gets 403 from the worker's
 * API through the proxy, while a loopback side server is reachable (so the refusal is the
 * guard's, not a broken egress), and its escalating deploy never lands. What a manifest may ask is
 * capped by trust level at deploy. Every address used is on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectedRunnerImagesAsync } from '../../../sandboxes/docker/plan-thread.ts';
import { errorOf, startTestWorker, type TestWorker } from '../../gateway/support.ts';
import { describeIf } from '../../support/requirements.ts';
import { lockDaemon, SUITE_START_MS, unlockDaemon } from './daemon-lock.ts';
import { dockerRequirement, labelledContainers, uniqueWorkerId } from './helpers.ts';

const PROBE = [
  'import json, sys, urllib.request, urllib.error',
  'side, api = json.load(sys.stdin)',
  'def call(url, body=None):',
  '    try:',
  '        req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})',
  '        with urllib.request.urlopen(req, timeout=10) as r: return [r.status, r.read().decode()]',
  '    except urllib.error.HTTPError as e: return [e.code, e.read().decode()]',
  'escalate = json.dumps({"name": "escalated", "runtime": "js", "trust": "trusted", "source": "export default () => 1"}).encode()',
  'print(json.dumps([',
  '  call(f"http://127.0.0.1:{side}/"),',
  '  call(f"http://127.0.0.1:{api}/v1/functions", escalate),',
  '  call(f"http://localhost:{api}/v1/functions", escalate),',
  ']))',
].join('\n');

describeIf(dockerRequirement(), "docker tier: a container cannot reach its worker's API", () => {
  const workerId = uniqueWorkerId('wapi');
  let w: TestWorker;
  let side: Server;
  let sidePort = 0;
  let sideHits = 0;
  let image = '';
  beforeAll(async () => {
    await lockDaemon();
    side = createServer((_req, res) => {
      sideHits++;
      res.end('side server');
    });
    await new Promise<void>((r) => side.listen(0, '127.0.0.1', r));
    sidePort = (side.address() as { port: number }).port;
    image = (await expectedRunnerImagesAsync()).script;
    w = await startTestWorker(
      { 'http.allow': '127.0.0.0/8', 'docker.workerId': workerId, 'docker.poolMin': 0 },
      { listen: true },
    );
  }, SUITE_START_MS);
  afterAll(async () => {
    try {
      await w?.close();
      await new Promise((r) => side?.close(r));
      expect(labelledContainers(workerId)).toEqual([]);
    } finally {
      unlockDaemon();
    }
  });

  it('an untrusted function asking for network is refused at deploy (policy cap)', async () => {
    const res = await w.call('POST', '/v1/functions', {
      name: 'untrusted-net',
      runtime: 'js',
      trust: 'untrusted',
      source: 'export default () => 1',
      permissions: { network: true },
    });
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({
      code: 'permission_denied',
      message: expect.stringContaining('network'),
    });
  });

  it('a trusted container admitted to all of loopback reaches a side server but gets 403 from the worker', async () => {
    const port = Number(new URL(w.worker.url).port);
    const deploy = await w.call('POST', '/v1/functions', {
      name: 'prober',
      runtime: 'container',
      trust: 'trusted',
      image,
      command: ['/usr/bin/python3', '-c', PROBE],
      permissions: { network: { allow: ['127.0.0.1', 'localhost'] } },
    });
    expect(deploy.status).toBe(201);
    expect(((await deploy.json()) as { tier: string }).tier).toBe('docker');
    const res = await w.call('POST', '/v1/functions/prober/invoke', [sidePort, port]);
    const record = (await res.json()) as { status: string; result: [number, string][]; logs: string; tier: string };
    expect(record).toMatchObject({ status: 'succeeded', tier: 'docker' });
    expect(record.result[0]).toEqual([200, 'side server']);
    expect(record.result[1]?.[0]).toBe(403);
    expect(record.result[1]?.[1]).toContain("worker's own API");
    expect(record.result[2]?.[0]).toBe(403);
    expect(record.logs).toMatch(/egress refused 127\.0\.0\.1:\d+: .*the worker's own API/);
    expect(sideHits).toBe(1);
    expect((await w.call('GET', '/v1/functions/escalated')).status).toBe(404);
  }, 120_000);
});
