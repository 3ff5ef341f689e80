/** Tenant quotas from the environment: STRATA_TENANTS_DEFAULT_QUOTA and STRATA_TENANTS_QUOTAS are JSON, like the file form. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { Database } from '../../src/store/database.ts';
import { QuotaStore } from '../../src/tenants/quota.ts';

describe('tenant quotas from the environment', () => {
  it('STRATA_TENANTS_DEFAULT_QUOTA (JSON) becomes tenants.defaultQuota and applies to a tenant without its own', () => {
    const config = loadConfig({
      env: {
        STRATA_TENANTS_DEFAULT_QUOTA:
          '{"rate": 5, "concurrency": 2, "artifactBytes": "1MiB", "maxLimits": {"memoryMb": 128}}',
        STRATA_TENANTS_QUOTAS: '{"acme": {"concurrency": 9}}',
      },
    });
    expect(config.tenants.defaultQuota).toEqual({
      rate: 5,
      concurrency: 2,
      artifactBytes: 1024 * 1024,
      maxLimits: { memoryMb: 128 },
    });
    expect(config.tenants.quotas).toEqual({ acme: { concurrency: 9 } });
    const dir = mkdtempSync(join(tmpdir(), 'strata-quota-env-'));
    const db = new Database(join(dir, 'strata.db'));
    try {
      const store = new QuotaStore(db, config.tenants);
      expect(store.get('beta')).toEqual(config.tenants.defaultQuota);
      expect(store.get('acme')).toEqual({ concurrency: 9 });
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the environment wins over the file, and a bad value names the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-quota-file-'));
    try {
      const file = join(dir, 'strata.yaml');
      writeFileSync(file, 'tenants:\n  defaultQuota: { rate: 100, queued: 3 }\n');
      expect(loadConfig({ env: {}, file }).tenants.defaultQuota).toEqual({ rate: 100, queued: 3 });
      expect(loadConfig({ env: { STRATA_TENANTS_DEFAULT_QUOTA: '{"rate": 7}' }, file }).tenants.defaultQuota).toEqual({
        rate: 7,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => loadConfig({ env: { STRATA_TENANTS_DEFAULT_QUOTA: '{rate: 5' } })).toThrow(
      /STRATA_TENANTS_DEFAULT_QUOTA must be JSON/,
    );
    expect(() => loadConfig({ env: { STRATA_TENANTS_DEFAULT_QUOTA: '{"rate": -1}' } })).toThrow(
      /tenants\.defaultQuota\.rate \(env STRATA_TENANTS_DEFAULT_QUOTA\)/,
    );
    expect(() => loadConfig({ env: { STRATA_TENANTS_DEFAULT_QUOTA: '{"speed": 1}' } })).toThrow(
      /STRATA_TENANTS_DEFAULT_QUOTA/,
    );
  });
});
