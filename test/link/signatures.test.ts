/**
 * Signatures in the Master protocol: a deploy to the Master may carry `signature`; it travels
 * with the artifact (Artifact.signature inline, ArtifactChunk.signature when fetched) and a real
 * worker verifies it again against its own signing.keys before it admits the artifact. Good
 * signature: the task succeeds; a wrong key: `rejected`, signature_invalid; none:
 * `rejected`, signature_required. Both ways an artifact reaches the worker are covered.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../../src/cli/worker.ts';
import { loadConfig } from '../../src/config/load.ts';
import { generateSigningKey, signDigest } from '../../src/governance/signing.ts';
import { type Cleanup, removeTempDirs, startCatalogueMaster, tempDir, waitFor } from './support/harness.ts';

const ops = generateSigningKey();
const stranger = generateSigningKey();

for (const way of ['inline', 'fetched'] as const) {
  describe(`signatures from a Master (${way} artifact)`, () => {
    const cleanups: Cleanup[] = [];
    let http: string;
    let worker: Worker;

    beforeAll(async () => {
      const m = await startCatalogueMaster(way === 'fetched' ? { 'master.inlineArtifactBytes': 0 } : {});
      cleanups.push(() => m.stop());
      http = `http://${m.master.httpAddress}`;
      const config = loadConfig({
        env: {},
        overrides: {
          dataDir: tempDir('strata-worker-'),
          'link.masters': m.master.grpcAddress,
          'link.workerId': `sig-${way}`,
          'isolate.hosts': 1,
          'signing.keys': { ops: ops.publicKey },
        },
      });
      worker = await startWorker(config, { listen: false, logger: pino({ level: 'silent' }) });
      cleanups.push(() => worker.close());
      await waitFor(() => m.master.core.workers.get(`sig-${way}`)?.connected, 'the worker to connect', 60_000);
    }, 120_000);
    afterAll(async () => {
      for (const c of cleanups.reverse()) await c();
      removeTempDirs();
    }, 60_000);

    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${http}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    /** Deploy to the Master (signed with `key` when given), run one task, return its final view. */
    async function run(name: string, key?: string) {
      const manifest = { name, runtime: 'js', trust: 'trusted', source: `export default () => "${name} ran"` };
      const first = await post('/v1/functions', manifest);
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      const digest = first.body.digest as string;
      if (key) {
        // The same content again with its signature: the Master keeps it by digest.
        const signed = await post('/v1/functions', {
          ...manifest,
          signature: { keyId: 'ops', sig: signDigest(key, digest) },
        });
        expect(signed.status).toBe(200);
        expect(signed.body).toMatchObject({ digest, signature: { keyId: 'ops' } });
      }
      const task = await post('/v1/tasks', { function: name, input: {} });
      expect(task.status).toBe(202);
      const id = task.body.taskId as string;
      const until = Date.now() + 60_000;
      for (;;) {
        const view = (await (await fetch(`${http}/v1/tasks/${id}`)).json()) as Record<string, unknown>;
        if (!['pending', 'dispatched', 'running'].includes(view.status as string)) return view;
        if (Date.now() > until) throw new Error(`task ${id} still ${view.status}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    it('a good signature: the worker verifies it and runs the task', async () => {
      const view = await run(`good-${way}`, ops.privateKeyPem);
      expect(view).toMatchObject({ status: 'succeeded', result: `good-${way} ran` });
      // The worker keeps the signature it verified with the version.
      const fn = (await (await worker.app.request(`/v1/functions/good-${way}`)).json()) as Record<string, unknown>;
      expect(fn.signature).toMatchObject({ keyId: 'ops' });
    }, 120_000);

    it('a signature by a key this worker does not trust: rejected, signature_invalid, nothing imported', async () => {
      const view = await run(`bad-${way}`, stranger.privateKeyPem);
      expect(view.status).toBe('rejected');
      expect(view.error).toMatchObject({ code: 'signature_invalid' });
      expect(() => worker.registry.get(`bad-${way}`)).toThrow();
    }, 120_000);

    it('no signature on a trusted function: rejected, signature_required', async () => {
      const view = await run(`missing-${way}`);
      expect(view.status).toBe('rejected');
      expect(view.error).toMatchObject({ code: 'signature_required' });
    }, 120_000);
  });
}
