/**
 * The worker image end to end: built offline from the root Dockerfile (deploy/image/build.sh),
 * run with no network, healthy on /healthz inside the container, and serving a JS function (isolate
 * tier) and a WASM module deployed and invoked with the image's own `strata` CLI. The container
 * runs as the image's non-root user: isolate and WASM need no privilege.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf } from '../support/requirements.ts';
import { docker, dockerRequirement, REPO, workerImage } from './docker-support.ts';

const HEALTH = `fetch('http://127.0.0.1:8080/healthz').then(async (r) => { console.log(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(1))`;

describeIf(dockerRequirement(), 'worker image (Dockerfile)', () => {
  let image = '';
  const name = `strata-image-test-${randomUUID().slice(0, 8)}`;
  let started = false;

  beforeAll(() => {
    image = workerImage();
    // The image listens on 0.0.0.0, so it refuses to start without a key (docs/tenants.md); the
    // image's own CLI reads the same token from STRATA_TOKEN.
    const token = `image-test-${randomUUID()}`;
    docker([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      '-e',
      `STRATA_ADMIN_TOKEN=${token}`,
      '-e',
      `STRATA_TOKEN=${token}`,
      image,
    ]);
    started = true;
  }, 35 * 60_000);

  afterAll(() => {
    if (started) execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  });

  /** Poll /healthz inside the container (its network is `none`: only its own loopback). */
  async function healthy(): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        return JSON.parse(docker(['exec', name, 'node', '-e', HEALTH], { timeout: 20_000 })) as Record<string, unknown>;
      } catch (error) {
        const state = docker(['inspect', name, '--format', '{{.State.Status}}']).trim();
        if (state !== 'running') throw new Error(`container ${state}: ${docker(['logs', name]).slice(-2000)}`);
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500)); // polling a process we cannot subscribe to
      }
    }
  }

  it('is configured as the contract says (entry point, user, STRATA_HOST, HEALTHCHECK)', () => {
    const config = JSON.parse(docker(['image', 'inspect', image, '--format', '{{json .Config}}'])) as {
      Entrypoint: string[];
      Cmd: string[];
      User: string;
      Env: string[];
      Healthcheck?: { Test: string[] };
    };
    expect(config.Entrypoint).toEqual(['strata']);
    expect(config.Cmd).toEqual(['serve']);
    expect(config.User).toBe('10001:10001');
    expect(config.Env).toContain('STRATA_HOST=0.0.0.0');
    expect(config.Healthcheck?.Test.join(' ')).toContain('/healthz');
  });

  it('answers /healthz inside the container with the isolate and WASM tiers available', async () => {
    const health = await healthy();
    expect(health.status).toBe('ok');
    const tiers = health.tiers as Record<string, { available: boolean }>;
    expect(tiers.isolate?.available).toBe(true);
    expect(tiers.wasm?.available).toBe(true);
    expect(docker(['exec', name, 'id', '-u']).trim()).toBe('10001');
  }, 150_000);

  it('serves /openapi.json, /docs and /ui with their assets from the image (built in, no CDN)', async () => {
    await healthy();
    const probe = `const paths = ['/openapi.json', '/docs', '/docs/assets/swagger-ui-bundle.js', '/ui', '/ui/assets/app.js', '/ui/assets/app.css'];
Promise.all(paths.map((p) => fetch('http://127.0.0.1:8080' + p).then(async (r) => [p, r.status, (await r.arrayBuffer()).byteLength])))
  .then((rows) => console.log(JSON.stringify(rows)), (e) => { console.error(e); process.exit(1); });`;
    const rows = JSON.parse(docker(['exec', name, 'node', '-e', probe])) as [string, number, number][];
    for (const [path, status, bytes] of rows) {
      expect(status, path).toBe(200);
      expect(bytes, path).toBeGreaterThan(100);
    }
  }, 150_000);

  it("reports healthy through the image's own HEALTHCHECK", async () => {
    const deadline = Date.now() + 120_000;
    let health = '';
    while (Date.now() < deadline) {
      health = docker(['inspect', name, '--format', '{{.State.Health.Status}}']).trim();
      if (health === 'healthy') break;
      await new Promise((resolve) => setTimeout(resolve, 1000)); // docker runs the check on its own interval
    }
    expect(health).toBe('healthy');
  }, 150_000);

  it('runs the reference Master with `master` (gRPC and HTTP on all interfaces, /ui for the Master)', async () => {
    const master = `${name}-master`;
    // On all interfaces the Master too refuses to start without a key.
    const token = `image-test-master-${randomUUID()}`;
    docker(['run', '-d', '--name', master, '--network', 'none', '-e', `STRATA_ADMIN_TOKEN=${token}`, image, 'master']);
    try {
      const probe = `const get = () => fetch('http://127.0.0.1:7080/ui').then(async (r) => { if (!r.ok) throw new Error(String(r.status)); return r.text(); });
const until = Date.now() + 90000;
const attempt = () => get().then((t) => console.log(t), (e) => { if (Date.now() > until) { console.error(e); process.exit(1); } return new Promise((r) => setTimeout(r, 500)).then(attempt); });
attempt();`;
      const html = docker(['exec', master, 'node', '-e', probe], { timeout: 120_000 });
      expect(html).toContain('data-server="master"');
    } finally {
      execFileSync('docker', ['rm', '-f', master], { stdio: 'ignore' });
    }
  }, 150_000);

  it('deploys and invokes a JS function and a WASM module with the image CLI', async () => {
    await healthy();
    docker(['cp', join(REPO, 'udf-examples', 'js', 'hello.js'), `${name}:/tmp/hello.js`]);
    docker(['cp', join(REPO, 'udf-examples', 'wasm', 'wat-add'), `${name}:/tmp/wat-add`]);
    const js = JSON.parse(docker(['exec', name, 'strata', 'fn', 'deploy', '/tmp/hello.js', '--json'])) as Record<
      string,
      unknown
    >;
    expect(js).toMatchObject({ name: 'hello', version: 1 });
    const jsRun = JSON.parse(
      docker(['exec', name, 'strata', 'fn', 'invoke', 'hello', '--data', '{"name":"Ada"}', '--json']),
    ) as Record<string, unknown>;
    expect(jsRun).toMatchObject({ status: 'succeeded', result: { greeting: 'Hello, Ada!' } });

    const wasm = JSON.parse(docker(['exec', name, 'strata', 'fn', 'deploy', '/tmp/wat-add', '--json'])) as Record<
      string,
      unknown
    >;
    expect(wasm).toMatchObject({ name: 'wat-add', tier: 'wasm' });
    const wasmRun = JSON.parse(
      docker(['exec', name, 'strata', 'fn', 'invoke', 'wat-add', '--data', '[40, 2]', '--json']),
    ) as Record<string, unknown>;
    expect(wasmRun).toMatchObject({ status: 'succeeded', result: 42, tier: 'wasm' });
  }, 150_000);
});
