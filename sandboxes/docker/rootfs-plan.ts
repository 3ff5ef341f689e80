/**
 * Plans the root file systems of the runner images from what this host already has: its own
 * Node 24 binary, the shared libraries it links (ldd), and for the script image bash, sh,
 * python3 (with its standard library) and a few core utilities. No registry is needed. The plan
 * has a content hash (paths, modes, sizes and mtimes of host files, bytes of our own files), so a
 * rebuild is skipped when nothing changed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TarEntry } from './tar-writer.ts';

export type RunnerKind = 'js' | 'script';
export const RUNNER_KINDS: readonly RunnerKind[] = ['js', 'script'];
/** Bump when the layout below changes in a way the file list does not show. */
const PLAN_VERSION = 'strata-runner-v2';
export const RUNNER_REPO_PREFIX = 'strata-runner-';
/** Where the runner lives inside the image. */
export const RUNNER_ENTRY = '/strata/runner/main.ts';
export const NODE_IN_IMAGE = '/usr/local/bin/node';
/** tini as PID 1: reaps the zombies that scripts' orphans would otherwise pile up (pids limit). */
export const INIT_IN_IMAGE = '/usr/local/bin/tini';
/** Where runner/procs.ts expects setpriv. */
export const SETPRIV_IN_IMAGE = '/usr/bin/setpriv';

export interface RunnerPlan {
  kind: RunnerKind;
  /** `strata-runner-js:<hash12>`. */
  image: string;
  hash: string;
  entries: TarEntry[];
  /** Total file bytes (for progress). */
  bytes: number;
  /** `docker import --change` instructions. */
  changes: string[];
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = join(HERE, '..', '..');

const isElf = (path: string): boolean => {
  try {
    const head = readFileSync(path).subarray(0, 4);
    return head.toString('latin1') === '\x7fELF';
  } catch {
    return false;
  }
};

/** The real Node 24 ELF: this process' binary when it is one, else the pinned npm `node` package. */
export function findNodeBinary(): string {
  const candidates = [process.execPath, join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node')];
  for (const candidate of candidates) {
    const real = existsSync(candidate) ? realpathSync(candidate) : '';
    if (real && isElf(real) && (candidate !== process.execPath || process.versions.node.startsWith('24.'))) return real;
  }
  throw new Error('no Node 24 ELF binary found (looked at process.execPath and node_modules/node/bin/node)');
}

/** Shared libraries a binary loads, as the loader names them (plus the loader itself). */
function sharedLibraries(binary: string): string[] {
  let text = '';
  try {
    text = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return []; // static or not an ELF: nothing to add
  }
  const libs: string[] = [];
  for (const line of text.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const path = arrow?.[1] ?? bare?.[1];
    if (path) libs.push(path);
  }
  return libs;
}

const which = (name: string): string | undefined =>
  ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => join(d, name)).find((p) => existsSync(p));

class PlanBuilder {
  readonly entries = new Map<string, TarEntry>();
  readonly hash = createHash('sha256').update(PLAN_VERSION);

  dir(path: string, mode = 0o755): void {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!this.entries.has(p)) this.entries.set(p, { type: 'dir', path: p, mode: i === parts.length ? mode : 0o755 });
    }
  }

  /** Copy a host file (symlinks followed) to `target` (absolute path in the image). */
  file(source: string, target: string, mode?: number): void {
    const key = target.replace(/^\/+/, '');
    if (this.entries.has(key)) return;
    const real = realpathSync(source);
    const st = statSync(real);
    this.dir(dirname(key));
    this.entries.set(key, { type: 'file', path: key, mode: mode ?? st.mode & 0o755, size: st.size, source: real });
  }

  data(target: string, data: Buffer | string, mode = 0o644): void {
    const key = target.replace(/^\/+/, '');
    this.dir(dirname(key));
    this.entries.set(key, { type: 'data', path: key, mode, data: Buffer.from(data) });
  }

  symlink(target: string, to: string): void {
    const key = target.replace(/^\/+/, '');
    this.entries.set(key, { type: 'symlink', path: key, target: to });
  }

  /** A library as the loader asks for it, placed in the canonical directory under its own name. */
  library(path: string): void {
    this.file(path, join(realpathSync(dirname(path)), basename(path)));
  }

  binary(source: string, target: string): void {
    this.file(source, target, 0o755);
    for (const lib of sharedLibraries(source)) this.library(lib);
  }

  finish(): { entries: TarEntry[]; hash: string; bytes: number } {
    const entries = [...this.entries.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
    let bytes = 0;
    for (const e of entries) {
      this.hash.update(`${e.type}\0${e.path}\0`);
      if (e.type === 'file') {
        const st = statSync(e.source);
        this.hash.update(`${e.mode}\0${e.size}\0${st.mtimeMs}\0${e.source}\0`);
        bytes += e.size;
      } else if (e.type === 'data') {
        this.hash.update(`${e.mode}\0`).update(e.data);
        bytes += e.data.length;
      } else if (e.type === 'symlink') this.hash.update(e.target);
      else this.hash.update(String(e.mode));
    }
    return { entries, hash: this.hash.digest('hex'), bytes };
  }
}

/** The top-level merged-/usr symlinks (/bin -> usr/bin, ...) exactly as this host has them. */
function baseLayout(b: PlanBuilder): void {
  for (const top of ['bin', 'sbin', 'lib', 'lib64']) {
    const path = `/${top}`;
    if (existsSync(path) && lstatSync(path).isSymbolicLink()) b.symlink(top, readlinkSync(path));
  }
  for (const d of ['proc', 'sys', 'dev', 'etc', 'usr/bin', 'usr/local/bin']) b.dir(d);
  b.dir('tmp', 0o1777);
  b.data('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  b.data('/etc/group', 'root:x:0:\nnogroup:x:65534:\n');
}

/** The runner's own files (everything under runner/ plus the framing it shares with the host). */
export const RUNNER_FILES = [
  'main.ts',
  'protocol.ts',
  'js-worker.ts',
  'js-host.ts',
  'child-messages.ts',
  'fence.ts',
  'procs.ts',
  'scripts.ts',
] as const;

function runnerFiles(b: PlanBuilder): void {
  b.data('/strata/package.json', '{"type":"module"}\n');
  b.data('/strata/framing.ts', readFileSync(join(HERE, 'framing.ts')));
  for (const name of RUNNER_FILES) b.data(`/strata/runner/${name}`, readFileSync(join(HERE, 'runner', name)));
}

const PYTHON_SKIP = new Set([
  'test',
  'tests',
  'idlelib',
  'tkinter',
  'turtledemo',
  'ensurepip',
  'lib2to3',
  '__pycache__',
  'site-packages',
  'dist-packages',
]);

function pythonStdlib(b: PlanBuilder, libDir: string): void {
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!PYTHON_SKIP.has(entry.name) && !entry.name.startsWith('config-')) walk(path);
      } else if (entry.name.endsWith('.so')) {
        b.binary(path, path);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        if (existsSync(path)) b.file(path, path, 0o644);
      }
    }
  };
  walk(libDir);
}

const UTILITIES = [
  'cat',
  'ls',
  'head',
  'tail',
  'dd',
  'sleep',
  'id',
  'env',
  'rm',
  'mkdir',
  'touch',
  'wc',
  'yes',
  'seq',
  'tr',
  'grep',
  'mount',
  'unshare',
  'setpriv',
];

function plan(kind: RunnerKind): RunnerPlan {
  const b = new PlanBuilder();
  baseLayout(b);
  b.binary(findNodeBinary(), NODE_IN_IMAGE);
  const tini = which('tini-static') ?? which('docker-init') ?? which('tini');
  if (!tini)
    throw new Error(
      'tini is needed for the runner images: install the Debian package "tini" (docker.io depends on it)',
    );
  b.binary(tini, INIT_IN_IMAGE);
  // The runner starts all user code through setpriv (uid 65534, no capabilities).
  const setpriv = which('setpriv');
  if (!setpriv) throw new Error('setpriv is needed for the runner images: install the Debian package "util-linux"');
  b.binary(setpriv, SETPRIV_IN_IMAGE);
  runnerFiles(b);
  if (kind === 'script') {
    for (const name of ['bash', 'sh', ...UTILITIES]) {
      const path = which(name);
      if (path) b.binary(path, `/usr/bin/${name}`);
    }
    const python = which('python3');
    if (python) {
      const real = realpathSync(python);
      b.binary(real, '/usr/bin/python3');
      const version = /python(\d+\.\d+)$/.exec(real)?.[1];
      const libDir = version ? `/usr/lib/python${version}` : '';
      if (libDir && existsSync(libDir)) pythonStdlib(b, libDir);
    }
  }
  const { entries, hash, bytes } = b.finish();
  const image = `${RUNNER_REPO_PREFIX}${kind}:${hash.slice(0, 12)}`;
  const changes = [
    'ENV PATH=/usr/local/bin:/usr/bin:/bin',
    'ENV HOME=/tmp',
    'WORKDIR /tmp',
    // The runner is uid 0 (with the few capabilities the tier grants) and drops user code to 65534.
    'USER 0:0',
    `LABEL strata.runner=${kind}`,
    `LABEL strata.runner.hash=${hash}`,
    `CMD ["${INIT_IN_IMAGE}", "--", "${NODE_IN_IMAGE}", "--no-warnings", "${RUNNER_ENTRY}", "--kind=${kind}"]`,
  ];
  return { kind, image, hash, entries, bytes, changes };
}

/** The plans of every runner image (cheap: stats and ldd, no file contents except ours). */
export function planRunnerImages(kinds: readonly RunnerKind[] = RUNNER_KINDS): RunnerPlan[] {
  return kinds.map(plan);
}
