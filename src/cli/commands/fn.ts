/** `strata fn deploy|invoke|list|get|delete`: manage and call functions on a running worker. */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseDuration, parseSize } from '../../config/units.ts';
import { StrataError } from '../../core/errors.ts';
import { parse } from '../args.ts';
import { StrataClient } from '../client.ts';
import { printFunction, printRecord, printTable } from '../print.ts';

const USAGE = `usage:
  strata fn deploy <file> --name N [--trust trusted|standard|untrusted] [--memory 64MiB] [--timeout 2s]
                          [--entry EXPORT] [--interpreter bash|sh|python3|node] [--priority P]
  strata fn invoke <name> [--data JSON | --data-file F] [--version V] [--async]
  strata fn list | get <name> | delete <name>
options: --url URL --token T --json`;

const SCRIPT_INTERPRETERS: Record<string, string> = { '.sh': 'bash', '.bash': 'bash', '.py': 'python3' };

/** The manifest a file describes: a manifest .json as it is, or one built from code and flags. */
function manifestFor(file: string, flags: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const ext = extname(file).toLowerCase();
  const manifest: Record<string, unknown> =
    ext === '.json' ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const name =
    (flags.name as string | undefined) ??
    (manifest.name as string | undefined) ??
    basename(file, ext)
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-');
  manifest.name = name;
  if (ext === '.js' || ext === '.mjs') Object.assign(manifest, { runtime: 'js', source: readFileSync(file, 'utf8') });
  else if (ext === '.wasm') manifest.runtime = 'wasm';
  else if (ext !== '.json') {
    const interpreter = (flags.interpreter as string | undefined) ?? SCRIPT_INTERPRETERS[ext];
    if (!interpreter)
      throw new StrataError(
        'invalid_request',
        `cannot tell the runtime of ${file}; use .js, .mjs, .sh, .py, .wasm, a manifest .json, or --interpreter`,
      );
    Object.assign(manifest, { runtime: 'script', interpreter, source: readFileSync(file, 'utf8') });
  }
  if (flags.trust) manifest.trust = flags.trust;
  if (flags.entry) manifest.entry = flags.entry;
  if (flags.priority) manifest.priority = Number(flags.priority);
  const limits = { ...((manifest.limits as Record<string, unknown>) ?? {}) };
  if (flags.memory) {
    const bytes = parseSize(flags.memory as string);
    if (!bytes) throw new StrataError('invalid_request', `--memory must be a size like 64MiB, got "${flags.memory}"`);
    limits.memoryMb = Math.ceil(bytes / 1024 ** 2);
  }
  if (flags.timeout) {
    const ms = parseDuration(flags.timeout as string);
    if (!ms) throw new StrataError('invalid_request', `--timeout must be a duration like 2s, got "${flags.timeout}"`);
    limits.timeoutMs = ms;
  }
  if (Object.keys(limits).length) manifest.limits = limits;
  return manifest;
}

export async function runFnCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, {
    name: { type: 'string' },
    trust: { type: 'string' },
    memory: { type: 'string' },
    timeout: { type: 'string' },
    entry: { type: 'string' },
    interpreter: { type: 'string' },
    priority: { type: 'string' },
    data: { type: 'string' },
    'data-file': { type: 'string' },
    version: { type: 'string' },
    async: { type: 'boolean', default: false },
  });
  const client = new StrataClient({ url: values.url, token: values.token });
  const out = (body: unknown, human: () => void) =>
    values.json ? console.log(JSON.stringify(body, null, 2)) : human();
  const target = positionals[0];

  switch (sub) {
    case 'deploy': {
      if (!target) break;
      const manifest = manifestFor(target, values);
      let response: { status: number; body: Record<string, unknown> };
      if (extname(target).toLowerCase() === '.wasm') {
        const form = new FormData();
        form.set('manifest', JSON.stringify(manifest));
        form.set('module', new Blob([readFileSync(target)], { type: 'application/wasm' }), basename(target));
        response = await client.request('POST', '/v1/functions', form);
      } else {
        response = await client.request('POST', '/v1/functions', JSON.stringify(manifest));
      }
      out(response.body, () => {
        console.log(response.body.created ? 'deployed a new version' : 'unchanged: this version already exists');
        printFunction(response.body);
      });
      return 0;
    }
    case 'invoke': {
      if (!target) break;
      const data = values['data-file'] ? readFileSync(values['data-file'], 'utf8') : (values.data ?? 'null');
      try {
        JSON.parse(data);
      } catch {
        throw new StrataError('invalid_request', '--data must be JSON, e.g. --data \'{"n": 10}\'');
      }
      const query = new URLSearchParams();
      if (values.async) query.set('async', '1');
      if (values.version) query.set('version', values.version);
      const qs = query.size ? `?${query}` : '';
      const { body } = await client.request<Record<string, unknown>>(
        'POST',
        `/v1/functions/${encodeURIComponent(target)}/invoke${qs}`,
        data,
      );
      out(body, () => (values.async ? console.log(`accepted: execution ${body.executionId}`) : printRecord(body)));
      if (values.async) return 0;
      return body.status === 'succeeded' ? 0 : 1;
    }
    case 'list': {
      const { body } = await client.request<{ functions: Record<string, unknown>[] }>('GET', '/v1/functions');
      out(body, () => printTable(body.functions, ['name', 'version', 'runtime', 'trust', 'tier', 'createdAt']));
      return 0;
    }
    case 'get': {
      if (!target) break;
      const { body } = await client.request<Record<string, unknown>>(
        'GET',
        `/v1/functions/${encodeURIComponent(target)}`,
      );
      out(body, () => printFunction(body));
      return 0;
    }
    case 'delete': {
      if (!target) break;
      const { body } = await client.request<{ deleted: number[] }>(
        'DELETE',
        `/v1/functions/${encodeURIComponent(target)}`,
      );
      out(body, () => console.log(`deleted ${target} (versions ${body.deleted.join(', ')})`));
      return 0;
    }
  }
  console.error(USAGE);
  return 2;
}
