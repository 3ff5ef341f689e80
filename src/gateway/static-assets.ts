/**
 * The dashboard's and API reference's static files (ui/dist, built by ui/build.ts). The image
 * ships them built; in a checkout they are built with esbuild on the first request, and again
 * when a file under ui/src is newer than the build (so a test never sees a stale page).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));
const DIST = join(UI_DIR, 'dist');
const SOURCES = join(UI_DIR, 'src');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

const newest = (dir: string): number => {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
};

let building: Promise<void> | undefined;

async function ensureBuilt(): Promise<void> {
  const index = join(DIST, 'index.html');
  const stale = !existsSync(index) || (existsSync(SOURCES) && newest(SOURCES) > statSync(index).mtimeMs);
  if (!stale) return;
  if (!existsSync(SOURCES)) throw new Error(`no dashboard assets at ${DIST} and no sources to build them from`);
  building ??= import('../../ui/build.ts')
    .then(({ buildUi }) => buildUi(DIST))
    .then(() => undefined)
    .finally(() => {
      building = undefined;
    });
  await building;
}

export interface StaticFile {
  body: Buffer;
  type: string;
}

const cache = new Map<string, { file: StaticFile; mtimeMs: number }>();

/** A file of ui/dist by its relative path, or undefined (also for any path leaving the folder). */
export async function staticFile(relative: string): Promise<StaticFile | undefined> {
  await ensureBuilt();
  const path = normalize(join(DIST, relative));
  if (!path.startsWith(DIST + sep)) return undefined;
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.file;
  const file = { body: readFileSync(path), type: TYPES[extname(path)] ?? 'application/octet-stream' };
  cache.set(path, { file, mtimeMs: stat.mtimeMs });
  return file;
}
