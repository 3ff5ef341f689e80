/**
 * plugin.json, validated (DESIGN.md "Plugins"): what a plugin is, which host versions it
 * supports and which other plugins it needs, as semver ranges.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import semver from 'semver';
import { z } from 'zod';

export const PLUGIN_KINDS = ['executor', 'pre', 'post', 'monitor'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

export const PLUGIN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

const range = z.string().refine((r) => semver.validRange(r) !== null, 'must be a semver range like "^1.2.0"');

export const pluginManifestSchema = z
  .object({
    name: z.string().regex(PLUGIN_NAME, 'name must match [a-z0-9][a-z0-9-]{0,62}'),
    version: z.string().refine((v) => semver.valid(v) !== null, 'version must be a semver version like "1.2.0"'),
    kind: z.union([z.enum(PLUGIN_KINDS), z.array(z.enum(PLUGIN_KINDS)).min(1)]),
    main: z.string().min(1),
    requires: z.record(z.string().regex(PLUGIN_NAME), range).default({}),
    strata: range,
    config: z.record(z.string(), z.unknown()).default({}),
    description: z.string().max(1024).optional(),
  })
  .strict();

export type PluginManifest = z.output<typeof pluginManifestSchema> & { kinds: PluginKind[] };

/** A plugin folder read from disk, or why it could not be. */
export type ReadManifest =
  | { ok: true; manifest: PluginManifest; mainPath: string; fingerprint: string }
  | { ok: false; error: string; name?: string };

/** Read and validate `<folder>/plugin.json`; `main` must stay inside the folder. */
export function readPluginManifest(folder: string): ReadManifest {
  const file = join(folder, 'plugin.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `${file} is not JSON: ${(err as Error).message}` };
  }
  const parsed = pluginManifestSchema.safeParse(raw);
  const name =
    raw && typeof raw === 'object' && typeof (raw as { name?: unknown }).name === 'string'
      ? (raw as { name: string }).name
      : undefined;
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, error: `${file} is not a valid plugin.json: ${problems}`, ...(name ? { name } : {}) };
  }
  const mainPath = resolve(folder, parsed.data.main);
  const inside = relative(resolve(folder), mainPath);
  if (inside.startsWith('..') || isAbsolute(inside))
    return { ok: false, error: `${file}: main must be a file inside the plugin folder`, name: parsed.data.name };
  let mainStat: ReturnType<typeof statSync>;
  try {
    mainStat = statSync(mainPath);
  } catch {
    return { ok: false, error: `${file}: main ${parsed.data.main} does not exist`, name: parsed.data.name };
  }
  const kinds = [...new Set(Array.isArray(parsed.data.kind) ? parsed.data.kind : [parsed.data.kind])];
  // What a change of the folder looks like to the watcher: the manifest text and main's mtime and size.
  const fingerprint = `${text.length}:${hashText(text)}:${mainStat.mtimeMs}:${mainStat.size}`;
  return { ok: true, manifest: { ...parsed.data, kinds }, mainPath, fingerprint };
}

function hashText(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}
