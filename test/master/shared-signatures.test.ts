/**
 * Signatures on several Masters sharing one PostgreSQL: a signed deploy to Master `a` (its HTTP
 * route) reaches Master `b` with its signature, so `b` sends the artifact signed too.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { masterHttpApp } from '../../src/master/http.ts';
import { startMaster, useCleanups } from '../link/support/harness.ts';
import { describeIf } from '../support/requirements.ts';
import { NOOP } from './support/multi-master.ts';
import { postgresRequirement, startCluster, type TestCluster } from './support/postgres.ts';

let cluster: TestCluster | undefined;
const cleanups = useCleanups();

describeIf(postgresRequirement(), 'signatures shared by Masters on PostgreSQL', () => {
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('a signature given to a is kept by b, also when it comes with a redeploy of the same content', async () => {
    const url = await (cluster as TestCluster).createDatabase('strata_signatures');
    const a = await startMaster({ overrides: { 'master.databaseUrl': url, 'master.id': 'a' } });
    cleanups.push(() => a.stop());
    const b = await startMaster({ overrides: { 'master.databaseUrl': url, 'master.id': 'b' } });
    cleanups.push(() => b.stop());
    const http = masterHttpApp(a.server.core, { bodyLimit: 1024 * 1024 });
    const deploy = async (signature?: { keyId: string; sig: string }) => {
      const res = await http.request('/v1/functions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...NOOP, ...(signature ? { signature } : {}) }),
      });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      return (await res.json()) as { digest: string };
    };

    // First unsigned: b imports the function without a signature.
    const { digest } = await deploy();
    await expect.poll(() => b.catalogue.byName.has(NOOP.name), { timeout: 10_000 }).toBe(true);
    expect(b.server.core.signatures.get(digest)).toBeUndefined();

    // The same content again, now signed (well-formed; the workers judge whether it counts).
    const signature = { keyId: 'release', sig: Buffer.alloc(64, 7).toString('base64') };
    expect((await deploy(signature)).digest).toBe(digest);
    await expect.poll(() => b.server.core.signatures.get(digest), { timeout: 10_000 }).toEqual(signature);
    expect(a.server.core.signatures.get(digest)).toEqual(signature);
  }, 120_000);
});
