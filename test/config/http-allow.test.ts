/** `http.allow` (STRATA_HTTP_ALLOW): the operator allow-list is checked when the config loads. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';

describe('http.allow', () => {
  it('reads hosts, host:port, wildcards, addresses and CIDRs from a comma list', () => {
    const config = loadConfig({
      env: { STRATA_HTTP_ALLOW: 'db.internal:5432, *.corp.example, 10.1.2.0/24,127.0.0.1:9000,[::1]:8080' },
    });
    expect(config.http.allow).toEqual([
      'db.internal:5432',
      '*.corp.example',
      '10.1.2.0/24',
      '127.0.0.1:9000',
      '[::1]:8080',
    ]);
    expect(loadConfig({ env: {} }).http.allow).toEqual([]);
  });

  it('refuses an entry the guard could not enforce, naming it', () => {
    for (const bad of ['https://db.internal/', '10.0.0.0/33', 'host:99999', 'fe80::1%eth0']) {
      let message = '';
      try {
        loadConfig({ env: { STRATA_HTTP_ALLOW: bad } });
      } catch (err) {
        expect((err as { code?: string }).code).toBe('invalid_config');
        message = (err as Error).message;
      }
      expect(message).toContain('http.allow');
      expect(message).toContain(bad);
    }
  });
});
