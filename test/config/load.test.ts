/** Configuration: env names from paths, files, precedence, human units, and errors that say what to do. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envNameOf, loadConfig, settingPaths } from '../../src/config/load.ts';
import { formatBytes, parseDuration, parseSize } from '../../src/config/units.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** The message of the error `fn` throws (it must throw). */
const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect((err as { code?: string }).code).toBe('invalid_config');
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('environment variable names', () => {
  it('derive from the setting path', () => {
    expect(envNameOf(['executor', 'concurrency'])).toBe('STRATA_EXECUTOR_CONCURRENCY');
    expect(envNameOf(['docker', 'poolMax'])).toBe('STRATA_DOCKER_POOL_MAX');
    expect(envNameOf(['limits', 'default', 'logBytes'])).toBe('STRATA_LIMITS_DEFAULT_LOG_BYTES');
    expect(envNameOf(['dataDir'])).toBe('STRATA_DATA_DIR');
  });

  it('cover every setting, with the policy table as one JSON value', () => {
    const names = settingPaths().map((p) => p.join('.'));
    expect(names).toContain('executor.concurrency');
    expect(names).toContain('policy.table');
    expect(names.some((n) => n.startsWith('policy.table.'))).toBe(false);
  });

  it('include the contract variables STRATA_HOST, STRATA_PORT, STRATA_DATA_DIR and the STRATA_MASTERS alias', () => {
    const config = loadConfig({
      env: {
        STRATA_HOST: '0.0.0.0',
        STRATA_PORT: '9090',
        STRATA_DATA_DIR: '/var/lib/strata',
        STRATA_MASTERS: '127.0.0.1:7070, 127.0.0.2:7070',
      },
    });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 9090, dataDir: '/var/lib/strata' });
    expect(config.link.masters).toEqual(['127.0.0.1:7070', '127.0.0.2:7070']);
  });

  it('ignore empty values and unknown STRATA_ variables', () => {
    const config = loadConfig({ env: { STRATA_PORT: '', STRATA_NOT_A_SETTING: 'x' } });
    expect(config.port).toBe(8080);
  });
});

describe('defaults and human units', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, dataDir: './data', bodyLimit: 6 * 1024 ** 2 });
    expect(config.apiTokens).toEqual([]);
  });

  it('compiles "5s" and "256MiB" to milliseconds and bytes once', () => {
    const config = loadConfig({
      env: { STRATA_LIMITS_DEFAULT_TIMEOUT: '5s', STRATA_LIMITS_DEFAULT_MEMORY: '256MiB', STRATA_BODY_LIMIT: '512KiB' },
    });
    expect(config.limits.default.timeout).toBe(5000);
    expect(config.limits.default.memory).toBe(256 * 1024 ** 2);
    expect(config.bodyLimit).toBe(512 * 1024);
  });

  it('parses units exactly', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration(42)).toBe(42);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize('6MB')).toBe(6_000_000);
    expect(parseSize('64mib')).toBe(64 * 1024 ** 2);
    expect(parseSize('100')).toBe(100);
    expect(parseSize('lots')).toBeUndefined();
    expect(formatBytes(1024)).toBe('1KiB');
    expect(formatBytes(6 * 1024 ** 2)).toBe('6MiB');
    expect(formatBytes(1000)).toBe('1000B');
  });

  it('reads lists and booleans from strings', () => {
    const config = loadConfig({
      env: { STRATA_API_TOKENS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb', STRATA_DOCKER_ENABLED: '0' },
    });
    expect(config.apiTokens).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(config.docker.enabled).toBe(false);
  });
});

describe('files and precedence', () => {
  it('reads YAML and JSON files', () => {
    const yaml = file('strata.yaml', 'port: 7001\nexecutor:\n  concurrency: 3\n  retryAfter: 2s\n');
    expect(loadConfig({ env: {}, file: yaml })).toMatchObject({
      port: 7001,
      executor: { concurrency: 3, retryAfter: 2000 },
    });
    const json = file('strata.json', JSON.stringify({ port: 7002, limits: { default: { memory: '64MiB' } } }));
    const config = loadConfig({ env: {}, file: json });
    expect(config.port).toBe(7002);
    expect(config.limits.default.memory).toBe(64 * 1024 ** 2);
  });

  it('finds the file through STRATA_CONFIG', () => {
    const yaml = file('via-env.yaml', 'port: 7003\n');
    expect(loadConfig({ env: { STRATA_CONFIG: yaml } }).port).toBe(7003);
  });

  it('applies defaults < file < environment < overrides', () => {
    const yaml = file('layers.yaml', 'port: 7010\nhost: 127.0.0.5\nexecutor:\n  concurrency: 5\n  queueSize: 50\n');
    const config = loadConfig({
      file: yaml,
      env: { STRATA_PORT: '7011', STRATA_EXECUTOR_CONCURRENCY: '6' },
      overrides: { 'executor.concurrency': 7 },
    });
    expect(config.host).toBe('127.0.0.5'); // file over default
    expect(config.port).toBe(7011); // env over file
    expect(config.executor.concurrency).toBe(7); // overrides over env
    expect(config.executor.queueSize).toBe(50); // file, untouched by env
    expect(config.executor.retryAfter).toBe(1000); // default
  });

  it('refuses an unreadable or malformed file, naming it', () => {
    expect(failure(() => loadConfig({ env: {}, file: join(dir, 'missing.yaml') }))).toContain('missing.yaml');
    expect(failure(() => loadConfig({ env: {}, file: file('bad.yaml', 'port: [1,\n') }))).toContain('bad.yaml');
    expect(failure(() => loadConfig({ env: {}, file: file('list.yaml', '- 1\n- 2\n') }))).toMatch(/mapping/);
  });
});

describe('bad values', () => {
  it('name the setting, its environment variable and the accepted form', () => {
    const duration = failure(() => loadConfig({ env: { STRATA_EXECUTOR_RETRY_AFTER: 'soon' } }));
    expect(duration).toContain('executor.retryAfter');
    expect(duration).toContain('STRATA_EXECUTOR_RETRY_AFTER');
    expect(duration).toMatch(/"5s"/);

    const size = failure(() => loadConfig({ env: { STRATA_BODY_LIMIT: 'huge' } }));
    expect(size).toContain('bodyLimit');
    expect(size).toContain('STRATA_BODY_LIMIT');
    expect(size).toMatch(/"256MiB"/);

    const integer = failure(() => loadConfig({ env: { STRATA_EXECUTOR_CONCURRENCY: 'lots' } }));
    expect(integer).toContain('executor.concurrency');
    expect(integer).toContain('STRATA_EXECUTOR_CONCURRENCY');
    expect(integer).toMatch(/whole number/);

    const range = failure(() => loadConfig({ env: { STRATA_PORT: '70000' } }));
    expect(range).toContain('STRATA_PORT');
    expect(range).toContain('65535');

    const bool = failure(() => loadConfig({ env: { STRATA_DOCKER_ENABLED: 'maybe' } }));
    expect(bool).toContain('STRATA_DOCKER_ENABLED');
    expect(bool).toMatch(/true, false, 1 or 0/);

    const token = failure(() => loadConfig({ env: { STRATA_API_TOKENS: 'short' } }));
    expect(token).toContain('STRATA_API_TOKENS');
    expect(token).toContain('16 characters');
  });

  it('say where a value came from when it was not the environment', () => {
    const yaml = file('bad-value.yaml', 'executor:\n  retryAfter: never\n');
    const message = failure(() => loadConfig({ env: {}, file: yaml }));
    expect(message).toContain('executor.retryAfter');
    expect(message).toContain('STRATA_EXECUTOR_RETRY_AFTER');
    expect(message).toContain('bad-value.yaml');
    expect(failure(() => loadConfig({ env: {}, overrides: { 'limits.default.memory': 'big' } }))).toContain(
      'overrides',
    );
  });

  it('refuses unknown settings and bad JSON in a JSON-valued variable', () => {
    expect(failure(() => loadConfig({ env: {}, overrides: { nope: 1 } }))).toContain('nope');
    expect(failure(() => loadConfig({ env: { STRATA_POLICY_TABLE: '{not json' } }))).toContain('STRATA_POLICY_TABLE');
  });
});

describe('the policy floor', () => {
  it('refuses a table entry weaker than its trust level’s floor, naming the variable', () => {
    const message = failure(() => loadConfig({ env: { STRATA_POLICY_TABLE: '{"js":{"untrusted":["isolate"]}}' } }));
    expect(message).toContain('policy.table.js.untrusted');
    expect(message).toContain('STRATA_POLICY_TABLE');
    expect(message).not.toContain('STRATA_POLICY_TABLE_JS');
    expect(message).toMatch(/weaker than the floor "wasm"/);
  });

  it('accepts a stronger tier than the floor, and a raised floor refuses the default table', () => {
    const config = loadConfig({ env: { STRATA_POLICY_TABLE: '{"js":{"trusted":["docker"]}}' } });
    expect(config.policy.table.js?.trusted).toEqual(['docker']);
    const raised = failure(() => loadConfig({ env: { STRATA_POLICY_FLOOR_TRUSTED: 'docker' } }));
    expect(raised).toMatch(/policy\.table\.js\.trusted .*weaker than the floor "docker"/);
  });
});
