/**
 * Issue 16 item 2, end to end through a real worker: a script with network reached
 * 127.0.0.1:<worker port> and deployed a trusted function. Here the operator admits the whole
 * loopback range (the worst case: `http.allow = 127.0.0.0/8`); the script still cannot reach the
 * worker's API, while a loopback server next to it is reachable (so the refusal is the guard's,
 * not a broken egress). What a manifest may ask is capped by trust level at deploy. Every
 * address used is on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { errorOf, startTestWorker, type TestWorker } from '../../gateway/support.ts';
import { describeIf } from '../../support/requirements.ts';
import { processTierRequirement } from './support.ts';

const escalate = (name: string) =>
  JSON.stringify({ name, runtime: 'js', trust: 'trusted', source: 'export default () => "escalated"' });

describeIf(processTierRequirement(), "process tier: a sandbox cannot reach its worker's API", () => {
  let w: TestWorker;
  let side: Server;
  let sidePort = 0;
  let sideHits = 0;
  beforeAll(async () => {
    side = createServer((_req, res) => {
      sideHits++;
      res.end('side server');
    });
    await new Promise<void>((r) => side.listen(0, '127.0.0.1', r));
    sidePort = (side.address() as { port: number }).port;
    w = await startTestWorker({ 'http.allow': '127.0.0.0/8' }, { listen: true });
  }, 60_000);
  afterAll(async () => {
    await w?.close();
    await new Promise((r) => side.close(r));
  });

  it('a standard-trust script asking for network is refused at deploy (policy cap)', async () => {
    const res = await w.call('POST', '/v1/functions', {
      name: 'std-net',
      runtime: 'script',
      interpreter: 'bash',
      trust: 'standard',
      source: 'true',
      permissions: { network: true },
    });
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({
      code: 'permission_denied',
      message: expect.stringContaining('network'),
    });
  });

  it('a trusted script admitted to all of loopback reaches a side server but not the worker', async () => {
    const port = new URL(w.worker.url).port;
    const source = [
      'read -r input; set -- $(echo "$input" | tr -d "[]" | tr "," " "); side=$1; api=$2',
      'curl -sS --max-time 10 "http://127.0.0.1:$side/"; echo',
      `curl -s -o /dev/null -w "%{http_code}\\n" --max-time 10 -H "content-type: application/json" -d '${escalate('escalated')}' "http://127.0.0.1:$api/v1/functions"`,
      `curl -s -o /dev/null -w "%{http_code}\\n" --max-time 10 -d '${escalate('escalated')}' "http://localhost:$api/v1/functions"`,
      'curl -s -o /dev/null -w "%{http_connect}" --max-time 10 --proxytunnel "http://127.0.0.2:$api/v1/functions"; true',
    ].join('\n');
    const deploy = await w.call('POST', '/v1/functions', {
      name: 'prober',
      runtime: 'script',
      interpreter: 'bash',
      trust: 'trusted',
      source,
      permissions: { network: { allow: ['127.0.0.1', 'localhost', '127.0.0.2'] } },
    });
    expect(deploy.status).toBe(201);
    expect(((await deploy.json()) as { tier: string }).tier).toBe('process');
    const res = await w.call('POST', '/v1/functions/prober/invoke', [sidePort, Number(port)]);
    const record = (await res.json()) as { status: string; result: unknown; logs: string; tier: string };
    expect(record).toMatchObject({ status: 'succeeded', tier: 'process' });
    expect(String(record.result).split('\n')).toEqual(['side server', '403', '403', '403']);
    expect(record.logs).toMatch(/egress refused 127\.0\.0\.1:\d+: .*the worker's own API/);
    expect(sideHits).toBe(1);
    expect((await w.call('GET', '/v1/functions/escalated')).status).toBe(404);
  });
});
