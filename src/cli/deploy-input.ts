/**
 * What `strata fn deploy <path>` sends: the manifest and, for WASM, the module bytes. A path is
 *   - code: .js/.mjs (JS), .sh/.bash/.py (scripts), .wasm (a module or component);
 *   - a manifest .json, with its code beside it: the one .wasm in its folder for runtime
 *     "wasm", the one .js/.mjs (or script of its interpreter) for "js"/"script" without
 *     "source" (or name it with --module / --source);
 *   - a folder holding a manifest.json (udf-examples/wasm/wat-add).
 * Flags (--name, --trust, --memory, ...) win over what the manifest says.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { parseWritten } from '../config/units.ts';
import { CliError, usageError } from './errors.ts';

export interface DeployFlags {
  name?: string;
  trust?: string;
  memory?: string;
  timeout?: string;
  entry?: string;
  interpreter?: string;
  priority?: string;
  module?: string;
  source?: string;
}

export interface DeployInput {
  manifest: Record<string, unknown>;
  /** The WASM bytes and their file, sent as the multipart `module` field. */
  module?: { file: string; bytes: Uint8Array };
  /** The files the deploy came from (for messages). */
  files: string[];
}

const SCRIPT_INTERPRETERS: Record<string, string> = { '.sh': 'bash', '.bash': 'bash', '.py': 'python3' };
const EXTENSIONS_OF: Record<string, string[]> = {
  js: ['.js', '.mjs'],
  bash: ['.sh', '.bash'],
  sh: ['.sh'],
  python3: ['.py'],
  node: ['.js', '.mjs'],
};
/** Files beside a manifest that are never its code. */
const NOT_CODE = /^build\.|\.config\.|\.test\./;

const read = (file: string): Buffer => {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `no file ${file}` : `cannot read ${file} (${code})`);
  }
};

const show = (file: string) => relative(process.cwd(), file) || file;

/** The one file in `dir` with one of `extensions`, or an error saying which flag names it. */
function besideManifest(manifestFile: string, extensions: string[], what: string, flag: string): string {
  const dir = dirname(manifestFile);
  const found = readdirSync(dir)
    .filter((f) => extensions.includes(extname(f).toLowerCase()) && !NOT_CODE.test(f))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
  if (found.length === 1) return found[0] as string;
  if (found.length === 0) {
    throw new CliError(
      `no ${what} (${extensions.join(', ')}) beside ${show(manifestFile)} — build it or pass ${flag} FILE`,
    );
  }
  throw usageError(
    `several files could be the ${what} of ${show(manifestFile)} (${found.map((f) => basename(f)).join(', ')}) — pick one with ${flag} FILE`,
  );
}

function readManifest(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(read(file).toString('utf8'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${show(file)} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`${show(file)} must hold a manifest object ({"name", "runtime", ...})`);
  }
  return parsed as Record<string, unknown>;
}

export function deployInput(target: string, flags: DeployFlags): DeployInput {
  if (!existsSync(target)) throw new CliError(`no file or folder ${target}`);
  let file = target;
  if (statSync(target).isDirectory()) {
    file = join(target, 'manifest.json');
    if (!existsSync(file)) throw new CliError(`${show(target)} is a folder without a manifest.json`);
  }
  const ext = extname(file).toLowerCase();
  const files = [file];
  let manifest: Record<string, unknown> = {};
  let module: DeployInput['module'];
  const moduleFrom = (path: string) => {
    module = { file: path, bytes: new Uint8Array(read(path)) };
    if (path !== file) files.push(path);
  };
  const sourceFrom = (path: string) => {
    manifest.source = read(path).toString('utf8');
    if (path !== file) files.push(path);
  };

  if (ext === '.json') {
    manifest = readManifest(file);
    if (flags.interpreter) manifest.interpreter = flags.interpreter;
    const runtime = manifest.runtime;
    if (runtime === 'wasm') moduleFrom(flags.module ?? besideManifest(file, ['.wasm'], 'WASM module', '--module'));
    else if ((runtime === 'js' || runtime === 'script') && (flags.source || manifest.source === undefined)) {
      const extensions = runtime === 'js' ? EXTENSIONS_OF.js : EXTENSIONS_OF[String(manifest.interpreter)];
      if (!extensions && !flags.source)
        throw new CliError(`${show(file)}: a "script" manifest needs "interpreter" (bash, sh, python3 or node)`);
      sourceFrom(flags.source ?? besideManifest(file, extensions ?? [], 'source file', '--source'));
    }
  } else if (ext === '.js' || ext === '.mjs') {
    manifest = { runtime: 'js' };
    sourceFrom(file);
  } else if (ext === '.wasm') {
    manifest = { runtime: 'wasm' };
    moduleFrom(file);
  } else {
    const interpreter = flags.interpreter ?? SCRIPT_INTERPRETERS[ext];
    if (!interpreter) {
      throw usageError(
        `cannot tell the runtime of ${show(file)}: deploy a .js, .mjs, .sh, .py or .wasm file, a manifest .json or a folder with one, or pass --interpreter`,
      );
    }
    manifest = { runtime: 'script', interpreter };
    sourceFrom(file);
  }

  const fromFile = basename(ext === '.json' ? dirname(file) : file, ext === '.json' ? '' : ext);
  manifest.name = flags.name ?? manifest.name ?? fromFile.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (flags.trust) manifest.trust = flags.trust;
  if (flags.entry) manifest.entry = flags.entry;
  if (flags.priority !== undefined) {
    const priority = Number(flags.priority);
    if (!Number.isInteger(priority))
      throw usageError(`--priority: expected a whole number from 0 to 1000, got "${flags.priority}"`);
    manifest.priority = priority;
  }
  const limits = { ...((manifest.limits as Record<string, unknown> | undefined) ?? {}) };
  const written = (value: string, kind: 'size' | 'duration', flag: string) => {
    try {
      return parseWritten(value, kind, flag);
    } catch (err) {
      throw usageError((err as Error).message);
    }
  };
  if (flags.memory) limits.memoryMb = Math.ceil(written(flags.memory, 'size', '--memory') / 1024 ** 2);
  if (flags.timeout) limits.timeoutMs = written(flags.timeout, 'duration', '--timeout');
  if (Object.keys(limits).length) manifest.limits = limits;
  return module ? { manifest, module, files } : { manifest, files };
}
