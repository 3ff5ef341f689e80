/**
 * The default path with a restart in the middle: `strata fn deploy udf-examples/js/hello.js`
 * without --trust compiles the function into the WASM tier at deploy time and says where the
 * time went; after the server restarts on the same data dir, the same code deploys from the
 * compile cache (cached, no compile step) and the function deployed before still runs.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { listeningUrl, processesMarked, removeCgroupParents, startServer } from './server-process.ts';
import { strata } from './support.ts';

const HELLO = join(import.meta.dirname, '..', '..', 'udf-examples', 'js', 'hello.js');
const dataDir = mkdtempSync(join(tmpdir(), 'strata-compile-cache-'));
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  removeCgroupParents();
});

/** A server on `dataDir`; the JS engines come from the run's shared engine cache (built once per run). */
const serve = () => startServer({ STRATA_DATA_DIR: dataDir, STRATA_WASM_ENGINE_CACHE_DIR: inject('wasmEngineCache') });

type Compile = { cached: boolean; ms: number; steps: Record<string, number> };

describe('the compile cache across a restart', { timeout: 300_000 }, () => {
  it('compiles at deploy, says so, and serves the same code from the cache after a restart', async () => {
    const first = serve();
    let url = await listeningUrl(first);
    const deployed = await strata(['fn', 'deploy', HELLO, '--url', url]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toContain('deployed hello v1');
    expect(deployed.stdout).toMatch(/^runtime:\s+js \(standard\)$/m);
    expect(deployed.stdout).toMatch(/^tier:\s+wasm$/m);
    // Where the time went: the function's own compile steps, not served from the cache.
    const compileLine = deployed.stdout.match(/^compile:\s+(.*)$/m)?.[1] ?? '';
    expect(compileLine).not.toMatch(/^cached/);
    expect(compileLine).toMatch(/parse \d+/);
    const invoked = await strata(['fn', 'invoke', 'hello', '--data', '{"name":"Ada"}', '--url', url, '--json']);
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(JSON.parse(invoked.stdout)).toMatchObject({
      status: 'succeeded',
      tier: 'wasm',
      result: { greeting: 'Hello, Ada!' },
      logs: 'greeting Ada\n',
    });
    expect(await first.stop()).toBe(0);
    expect(processesMarked(first.mark)).toEqual([]);
    expect(readdirSync(join(dataDir, 'wasm-cache')).length).toBeGreaterThan(0);

    const second = serve();
    try {
      url = await listeningUrl(second);
      // The same code under another name is the same compile: read from disk, nothing built.
      const again = await strata(['fn', 'deploy', HELLO, '--name', 'hello-again', '--url', url, '--json']);
      expect(again.code, again.stderr).toBe(0);
      const answer = JSON.parse(again.stdout) as { tier: string; compile: Compile };
      expect(answer.tier).toBe('wasm');
      expect(answer.compile.cached).toBe(true);
      expect(Object.keys(answer.compile.steps)).not.toContain('parse');
      const readable = await strata(['fn', 'deploy', HELLO, '--name', 'hello-third', '--url', url]);
      expect(readable.stdout).toMatch(/^compile:\s+cached/m);
      // What was deployed before the restart runs as it did.
      const old = await strata(['fn', 'invoke', 'hello', '--data', '{"name":"Bo"}', '--url', url, '--json']);
      expect(JSON.parse(old.stdout)).toMatchObject({ status: 'succeeded', result: { greeting: 'Hello, Bo!' } });
    } finally {
      expect(await second.stop()).toBe(0);
    }
    expect(processesMarked(second.mark)).toEqual([]);
  });
});
