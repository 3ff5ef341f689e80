/**
 * `strata serve` (= `npm start`) as a user meets it: a second server on a busy port, and every
 * other fatal start-up error, is one line and a non-zero exit with no process of it left; logs
 * are JSON lines when piped (ISO time, level names) or readable by STRATA_LOG_FORMAT; start-up
 * steps log their end; each invocation is logged with its request id, function, status, duration.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listeningUrl,
  processesMarked,
  removeCgroupParents,
  type ServerProcess,
  startServer,
} from './server-process.ts';
import { closedPort } from './support.ts';

const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-serve-'));
  dirs.push(dir);
  return dir;
};
const servers: ServerProcess[] = [];
const serve = (env: Record<string, string>) => {
  const s = startServer({ STRATA_DATA_DIR: dataDir(), ...env });
  servers.push(s);
  return s;
};
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.exited));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  removeCgroupParents();
});

/** A start that must fail: its exit code, its one stderr line, and no process of it left. */
async function fatal(server: ServerProcess): Promise<{ code: number | null; line: string }> {
  const code = await server.exited;
  const lines = server.stderr().trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(processesMarked(server.mark)).toEqual([]);
  return { code, line: lines[0] as string };
}

describe('a second server on a busy port', () => {
  let first: ServerProcess;
  let url: string;
  beforeAll(async () => {
    first = serve({});
    url = await listeningUrl(first);
  }, 300_000);
  afterAll(async () => {
    expect(await first.stop()).toBe(0);
  });

  it('prints one line naming the port and STRATA_PORT, exits non-zero, leaves nothing behind', async () => {
    const port = new URL(url).port;
    const second = serve({ STRATA_PORT: port });
    const { code, line } = await fatal(second);
    expect(code).toBe(1);
    expect(line).toBe(`strata: port ${port} is in use — set STRATA_PORT (or stop what listens there)`);
    // The port is checked before anything starts: no tier ever began.
    expect(second.stdout()).not.toContain('tier');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  }, 300_000);
});

describe('stopping', () => {
  it('exits soon after its "stopped" line, even while a tier still plans in the background', async () => {
    // Stopped right after it listens: on a fresh data dir the Docker tier's image planning (a
    // thread around a synchronous ldd) and the JS engine builds are typically still running.
    const server = serve({});
    await listeningUrl(server);
    server.child.kill('SIGTERM');
    await server.line((l) => l.includes('"stopped"'));
    // Generous: the bug this guards against kept the process alive for minutes.
    const late = new Promise<'late'>((r) => setTimeout(() => r('late'), 30_000).unref());
    expect(await Promise.race([server.exited, late])).toBe(0);
    expect(processesMarked(server.mark)).toEqual([]);
  }, 300_000);
});

describe('other fatal start-up errors', () => {
  it('a misspelt variable, a missing config file, an address not of this host: one line each', async () => {
    const typo = await fatal(serve({ STRATA_EXECUTOR_CONCURENCY: '4' }));
    expect(typo.code).toBe(1);
    expect(typo.line).toContain(
      'STRATA_EXECUTOR_CONCURENCY is not a setting — did you mean STRATA_EXECUTOR_CONCURRENCY?',
    );
    const missing = await fatal(serve({ STRATA_CONFIG: '/nonexistent/strata.yaml' }));
    expect(missing.line).toBe(
      'strata: no configuration file at /nonexistent/strata.yaml (named by STRATA_CONFIG; create it or unset STRATA_CONFIG)',
    );
    // TEST-NET-1: binding to it fails locally; nothing is sent anywhere.
    const host = await fatal(serve({ STRATA_HOST: '192.0.2.1' }));
    expect(host.line).toBe('strata: 192.0.2.1 is not an address of this host — set STRATA_HOST');
  }, 300_000);

  it('a failure after the tiers started stops them all: no sandbox host survives', async () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'callback-signing-key'));
    const server = startServer({ STRATA_DATA_DIR: dir });
    servers.push(server);
    // The isolate tier's host process was up when the failure came.
    const isolate = await server.line((l) => l.includes('"tier started"') && l.includes('"isolate"'));
    expect(JSON.parse(isolate)).toMatchObject({ available: true });
    const { code, line } = await fatal(server);
    expect(code).toBe(1);
    expect(line).toContain('cannot read the callback signing key');
    expect(line).toContain('STRATA_CALLBACKS_SIGNING_KEY');
  }, 300_000);
});

describe('logs', () => {
  it('are JSON lines with ISO timestamps and level names when piped; steps log their end; invocations at info', async () => {
    const server = serve({});
    const url = await listeningUrl(server);
    const entries = () =>
      server
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const entry of entries()) {
      expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(entry.level);
    }
    const messages = entries().map((e) => e.msg);
    expect(messages).toContain('resources ready');
    expect(messages).toContain('tiers ready');
    const tiers = entries().filter((e) => e.msg === 'tier started' || e.msg === 'tier did not start');
    expect(tiers.map((e) => e.tier).sort()).toEqual(['docker', 'http', 'isolate', 'process', 'wasm']);
    for (const e of tiers) expect(typeof e.ms).toBe('number');

    await fetch(`${url}/v1/functions`, {
      method: 'POST',
      body: JSON.stringify({ name: 'hello', runtime: 'js', trust: 'trusted', source: 'export default () => "hi"' }),
    });
    const invoked = await fetch(`${url}/v1/functions/hello/invoke`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'req-serve-test-1' },
    });
    expect(invoked.status).toBe(200);
    const line = JSON.parse(await server.line((l) => l.includes('"invocation"'))) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'info',
      msg: 'invocation',
      requestId: 'req-serve-test-1',
      function: 'hello@1',
      status: 'succeeded',
      tier: 'isolate',
    });
    expect(typeof line.ms).toBe('number');
    expect(await server.stop()).toBe(0);
    expect(processesMarked(server.mark)).toEqual([]);
  }, 300_000);

  it('are readable lines with STRATA_LOG_FORMAT=pretty, and no summary when stdout is not a terminal', async () => {
    const server = serve({ STRATA_LOG_FORMAT: 'pretty' });
    const line = await server.line((l) => l.includes('strata worker listening'));
    expect(line).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}strata worker listening url=http:\/\/127\.0\.0\.1:\d+ /,
    );
    expect(server.stdout()).not.toContain('{"level"');
    expect(server.stdout()).not.toContain('A first function');
    expect(await server.stop()).toBe(0);
  }, 300_000);

  it('refuse an unknown format naming the variable', async () => {
    const { line } = await fatal(serve({ STRATA_LOG_FORMAT: 'fancy', STRATA_PORT: String(await closedPort()) }));
    expect(line).toContain('STRATA_LOG_FORMAT');
  }, 300_000);
});
