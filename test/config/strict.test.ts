/**
 * What people write is checked harder than what code passes: a bare number for a duration or a
 * size is refused (in STRATA_* variables and config files), a key that is not a setting is
 * refused naming the nearest one, and a missing file is one clear line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayConfig, variableValue } from '../../src/config/display.ts';
import { loadConfig, settingPaths, variableOf } from '../../src/config/load.ts';
import { levenshtein, nearest } from '../../src/config/nearest.ts';
import { formatDuration, parseDuration, unitProblem } from '../../src/config/units.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-config-strict-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect((err as { code?: string }).code).toBe('invalid_config');
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('units', () => {
  it('a bare number is ambiguous, and the message says what to write', () => {
    expect(unitProblem('64', 'size')).toBe('64 is ambiguous: write 64MiB (or 64B, 64KiB, 64GiB)');
    expect(unitProblem(5000, 'duration')).toBe('5000 is ambiguous: write 5000ms (or 5000s, 5000m, 5000h)');
    expect(unitProblem('0', 'duration')).toBeUndefined();
    expect(unitProblem('64MiB', 'size')).toBeUndefined();
    expect(unitProblem('1.5s', 'duration')).toBeUndefined();
    expect(unitProblem('soon', 'duration')).toMatch(/expected a duration like "250ms"/);
  });

  it('formats durations in the largest whole unit, and parses them back', () => {
    for (const [ms, text] of [
      [0, '0'],
      [250, '250ms'],
      [1500, '1500ms'],
      [5000, '5s'],
      [120_000, '2m'],
      [3_600_000, '1h'],
      [86_400_000, '1d'],
    ] as const) {
      expect(formatDuration(ms)).toBe(text);
      expect(parseDuration(text)).toBe(ms);
    }
  });

  it('refuses bare numbers for durations and sizes in variables and files, naming the setting', () => {
    const env = failure(() => loadConfig({ env: { STRATA_EXECUTOR_RETRY_AFTER: '1500' } }));
    expect(env).toContain('executor.retryAfter (env STRATA_EXECUTOR_RETRY_AFTER): 1500 is ambiguous: write 1500ms');
    const size = failure(() => loadConfig({ env: { STRATA_LIMITS_DEFAULT_MEMORY: '64' } }));
    expect(size).toContain('limits.default.memory (env STRATA_LIMITS_DEFAULT_MEMORY): 64 is ambiguous: write 64MiB');
    const yaml = file('bare.yaml', 'limits:\n  max:\n    timeout: 30000\nbodyLimit: 1048576\n');
    const message = failure(() => loadConfig({ env: {}, file: yaml }));
    expect(message).toContain('limits.max.timeout');
    expect(message).toContain('30000 is ambiguous');
    expect(message).toContain('bodyLimit');
    expect(message).toContain('bare.yaml');
  });

  it('takes counts and ports as plain numbers, 0 and …Bytes settings without a unit', () => {
    const config = loadConfig({
      env: {
        STRATA_PORT: '9000',
        STRATA_EXECUTOR_CONCURRENCY: '4',
        STRATA_LIMITS_DEFAULT_PIDS: '32',
        STRATA_MASTER_WORKER_HEARTBEAT_INTERVAL: '0',
        STRATA_LIMITS_DEFAULT_LOG_BYTES: '2048',
        STRATA_PROCESS_WATCH_INTERVAL: '50ms',
      },
    });
    expect(config.port).toBe(9000);
    expect(config.executor.concurrency).toBe(4);
    expect(config.limits.default.pids).toBe(32);
    expect(config.master.workerHeartbeatInterval).toBe(0);
    expect(config.limits.default.logBytes).toBe(2048);
    expect(config.process.watchInterval).toBe(50);
  });

  it('takes numbers (milliseconds, bytes) from code', () => {
    const config = loadConfig({
      env: {},
      overrides: { 'executor.retryAfter': 50, 'limits.default.memory': 1024 ** 2 },
    });
    expect(config.executor.retryAfter).toBe(50);
    expect(config.limits.default.memory).toBe(1024 ** 2);
  });
});

describe('keys that are not settings', () => {
  it('nearest picks a likely typo and nothing far away', () => {
    expect(levenshtein('concurency', 'concurrency')).toBe(1);
    expect(nearest('concurency', ['concurrency', 'queueSize'])).toBe('concurrency');
    expect(nearest('retryafter', ['retryAfter'])).toBe('retryAfter');
    expect(nearest('banana', ['concurrency', 'queueSize'])).toBeUndefined();
  });

  it('a misspelt key anywhere in a file stops start-up naming it and the nearest valid one', () => {
    const yaml = file('typo.yaml', 'executor:\n  concurency: 4\n');
    expect(failure(() => loadConfig({ env: {}, file: yaml }))).toBe(
      `invalid configuration: executor.concurency (in ${yaml}) is not a setting — did you mean executor.concurrency?`,
    );
    const deep = file('deep.yaml', 'link:\n  tls:\n    enabld: true\n');
    expect(failure(() => loadConfig({ env: {}, file: deep }))).toContain(
      'link.tls.enabld (in ' + deep + ') is not a setting — did you mean link.tls.enabled?',
    );
    const table = file('table.yaml', 'policy:\n  table:\n    jss:\n      trusted: [isolate]\n');
    expect(failure(() => loadConfig({ env: {}, file: table }))).toContain('did you mean policy.table.js?');
  });

  it('a key in the wrong section points at where it lives', () => {
    const yaml = file('section.yaml', 'concurrency: 4\n');
    expect(failure(() => loadConfig({ env: {}, file: yaml }))).toContain(
      'concurrency (in ' + yaml + ') is not a setting — did you mean executor.concurrency?',
    );
  });

  it('a misspelt STRATA_ variable is refused, others are left alone', () => {
    expect(failure(() => loadConfig({ env: { STRATA_EXECUTOR_CONCURENCY: '4' } }))).toContain(
      'STRATA_EXECUTOR_CONCURENCY is not a setting — did you mean STRATA_EXECUTOR_CONCURRENCY?',
    );
    expect(() =>
      loadConfig({ env: { STRATA_TOKEN: 'x', STRATA_URL: 'http://h', STRATA_SOMETHING_ELSE_ENTIRELY: '1' } }),
    ).not.toThrow();
  });

  it('overrides from code are checked for names too', () => {
    expect(failure(() => loadConfig({ env: {}, overrides: { 'executor.concurency': 4 } }))).toContain(
      'did you mean executor.concurrency?',
    );
  });

  it('a missing file is one clear line naming it and where it was named', () => {
    expect(failure(() => loadConfig({ env: { STRATA_CONFIG: join(dir, 'nope.yaml') } }))).toBe(
      `no configuration file at ${join(dir, 'nope.yaml')} (named by STRATA_CONFIG; create it or unset STRATA_CONFIG)`,
    );
    expect(failure(() => loadConfig({ env: {}, file: join(dir, 'nope.yaml') }))).toBe(
      `no configuration file at ${join(dir, 'nope.yaml')} (given with --config)`,
    );
  });
});

describe('output', () => {
  const secrets = {
    STRATA_API_TOKENS: 'api-token-aaaaaaaaaaaa,api-token-bbbbbbbbbbbb',
    STRATA_LINK_TOKEN: 'link-token-value',
    STRATA_MASTER_TOKENS: 'master-token-value',
    STRATA_CALLBACKS_SIGNING_KEY: 'callback-key-value',
  };

  it('never shows a secret, and shows values the way their variable takes them', () => {
    const config = loadConfig({ env: { ...secrets, STRATA_EXECUTOR_RETRY_AFTER: '1500ms' } });
    const shown = JSON.stringify(displayConfig(config));
    for (const value of Object.values(secrets)) for (const part of value.split(',')) expect(shown).not.toContain(part);
    const display = displayConfig(config) as Record<string, Record<string, unknown>>;
    expect(display.apiTokens).toBe('<set>');
    expect(display.link?.token).toBe('<set>');
    expect(display.executor?.retryAfter).toBe('1500ms');
    expect(display.limits).toMatchObject({ default: { timeout: '5s', memory: '128MiB' } });
    // Unset secrets stay empty, so "<set>" really means set.
    expect((displayConfig(loadConfig({ env: {} })) as Record<string, unknown>).apiTokens).toEqual([]);
  });

  it('every variable printed reads back to the same configuration (secrets aside)', () => {
    const env = { STRATA_PROCESS_READ_ONLY_PATHS: '/usr/bin,/usr/lib', STRATA_LINK_LABELS: 'zone=a,gpu=no' };
    const config = loadConfig({ env });
    const printed: Record<string, string> = {};
    for (const path of settingPaths()) {
      const value = path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
      const text = variableValue(path, value);
      if (text !== '<set>' && text !== '') printed[variableOf(path)] = text;
    }
    expect(printed.STRATA_PROCESS_READ_ONLY_PATHS).toBe('/usr/bin,/usr/lib');
    expect(printed.STRATA_EXECUTOR_RETRY_AFTER).toBe('1s');
    expect(loadConfig({ env: printed })).toEqual(config);
  });
});
