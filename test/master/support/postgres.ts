/**
 * A throwaway PostgreSQL 15 cluster for tests: initdb in a temp dir owned by the `postgres` user
 * (root cannot run postgres: commands go through `runuser -u postgres --` when we are root),
 * listening on 127.0.0.1 at a free port and on a unix socket in the same dir. stop() ends it with
 * `pg_ctl stop -m immediate` and removes the dir; it also runs on process exit, so no cluster is
 * left behind even when a test fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Requirement } from '../../support/requirements.ts';

const BIN = '/usr/lib/postgresql/15/bin';

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

const isRoot = process.getuid?.() === 0;

/** Whether a cluster can be made here, and if not, why (for describeIf). */
export function postgresRequirement(): Requirement {
  for (const tool of ['initdb', 'pg_ctl', 'postgres'])
    if (!existsSync(join(BIN, tool)))
      return { ok: false, reason: `PostgreSQL 15 is not installed (${BIN}/${tool} missing; Debian: postgresql-15)` };
  if (isRoot && !postgresUser()) return { ok: false, reason: 'running as root and there is no `postgres` user' };
  if (isRoot && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser'))
    return { ok: false, reason: 'running as root and runuser is missing (util-linux)' };
  return { ok: true };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Run a PostgreSQL tool as the `postgres` user when we are root, else as ourselves. */
function pgTool(tool: string, args: string[]): void {
  const [cmd, argv] = isRoot
    ? ['runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args]]
    : [join(BIN, tool), args];
  const r = spawnSync(cmd, argv as string[], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${tool} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export interface TestCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth on loopback only). */
  url: string;
  port: number;
  dir: string;
  /** A fresh database in the cluster; its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

const live = new Set<TestCluster>();
process.once('exit', () => {
  for (const c of live) c.stop();
});

export async function startCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-pg-'));
  const data = join(dir, 'data');
  const owner = isRoot ? postgresUser() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  const port = await freePort();
  let started = false;
  const cluster: TestCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async createDatabase(name: string) {
      const { default: postgres } = await import('postgres');
      const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await sql.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop() {
      if (!live.delete(cluster)) return;
      if (started) {
        try {
          pgTool('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
        } catch {
          // Already gone; the dir goes anyway.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(cluster);
  try {
    pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    pgTool('pg_ctl', [
      'start',
      '-D',
      data,
      '-w',
      '-t',
      '60',
      '-l',
      join(dir, 'log'),
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=100`,
    ]);
    started = true;
  } catch (err) {
    cluster.stop();
    throw err;
  }
  return cluster;
}
