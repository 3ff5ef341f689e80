/**
 * The user-facing paths through real processes: a spawned `strata serve` with STRATA_ADMIN_TOKEN,
 * the real CLI making, listing and revoking keys and setting a quota, a tenant key deploying and
 * invoking, and a non-loopback bind without keys refused with a message saying what to do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningUrl, removeCgroupParents, type ServerProcess, startServer } from '../cli/server-process.ts';
import { strata } from '../cli/support.ts';

const ADMIN = 'spawned-admin-token-0123456789';
let server: ServerProcess;
let url: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'strata-tenants-cli-'));
  server = startServer({ STRATA_ADMIN_TOKEN: ADMIN, STRATA_DATA_DIR: dataDir, STRATA_LOG_FORMAT: 'json' });
  url = await listeningUrl(server);
}, 60_000);
afterAll(async () => {
  await server?.stop();
  removeCgroupParents();
  rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

describe('strata keys and tenants against a spawned worker', () => {
  it('creates a key (printed once), the key works for its scopes, ls shows it, revoke ends it', async () => {
    const created = await strata(
      [
        'keys',
        'create',
        '--tenant',
        'acme',
        '--scopes',
        'functions:write,invoke,functions:read',
        '--expires',
        '30d',
        '--url',
        url,
      ],
      {
        STRATA_TOKEN: ADMIN,
      },
    );
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^stk_[0-9a-f]{16}_/);
    expect(created.stderr).toContain('tenant acme');
    const id = key.split('_')[1] as string;

    const deploy = await strata([
      'fn',
      'deploy',
      'udf-examples/js/hello.js',
      '--trust',
      'trusted',
      '--url',
      url,
      '--token',
      key,
    ]);
    expect(deploy.code, deploy.stderr).toBe(0);
    const invoke = await strata([
      'fn',
      'invoke',
      'hello',
      '--data',
      '{"name":"Ada"}',
      '--json',
      '--url',
      url,
      '--token',
      key,
    ]);
    expect(invoke.code, invoke.stderr).toBe(0);
    expect(JSON.parse(invoke.stdout)).toMatchObject({
      status: 'succeeded',
      tenant: 'acme',
      function: { name: 'hello' },
    });
    // The admin token is the default tenant: acme's hello is not its function.
    const adminGet = await strata(['fn', 'get', 'hello', '--url', url, '--token', ADMIN]);
    expect(adminGet.code).toBe(1);
    // acme's key cannot make keys: 403 naming the scope.
    const denied = await strata(['keys', 'ls', '--url', url, '--token', key]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('"admin"');

    const ls = await strata(['keys', 'ls', '--json', '--url', url], { STRATA_TOKEN: ADMIN });
    expect(ls.code).toBe(0);
    const listed = (JSON.parse(ls.stdout) as { keys: { id: string; tenant: string; lastUsedAt: string | null }[] })
      .keys;
    expect(listed.find((k) => k.id === id)).toMatchObject({ tenant: 'acme' });
    expect(listed.find((k) => k.id === id)?.lastUsedAt).toBeTruthy();
    expect(ls.stdout).not.toContain(key);

    const quota = await strata(['tenants', 'quota', 'acme', '--rate', '5', '--functions', '3', '--url', url], {
      STRATA_TOKEN: ADMIN,
    });
    expect(quota.code, quota.stderr).toBe(0);
    expect(quota.stdout).toContain('"rate":5');
    const audit = await strata(['tenants', 'audit', '--tenant', 'acme', '--json', '--url', url], {
      STRATA_TOKEN: ADMIN,
    });
    const actions = (JSON.parse(audit.stdout) as { items: { action: string; result: string }[] }).items.map(
      (e) => `${e.action}:${e.result}`,
    );
    expect(actions).toEqual(expect.arrayContaining(['function.deploy:ok', 'request:denied']));

    const revoke = await strata(['keys', 'revoke', id, '--url', url], { STRATA_TOKEN: ADMIN });
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toContain(`revoked key ${id}`);
    const after = await strata(['fn', 'list', '--url', url, '--token', key]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('revoked');
    // Each CLI run is a fresh node process; on a loaded machine a dozen of them take a while.
  }, 240_000);

  it('the shared STRATA_TOKEN path keeps working: the admin token lists the default tenant', async () => {
    const list = await strata(['fn', 'list', '--url', url], { STRATA_TOKEN: ADMIN });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('no functions yet');
  }, 60_000);
});

describe('binding beyond loopback', () => {
  it('without any key, refuses to start and says how to create one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-tenants-bind-'));
    const open = startServer({ STRATA_HOST: '0.0.0.0', STRATA_DATA_DIR: dir, STRATA_LOG_FORMAT: 'json' });
    try {
      expect(await open.exited).toBe(1);
      expect(open.stderr()).toContain('without API keys');
      expect(open.stderr()).toContain('STRATA_ADMIN_TOKEN');
      expect(open.stderr()).toContain('--insecure');
    } finally {
      await open.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
