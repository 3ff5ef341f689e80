// Writes <out>/package.json and <out>/package-lock.json holding only the UI build's tools
// (esbuild, preact, uplot, swagger-ui-dist and what they need) at the versions the project's
// lock file pins, so the image's ui stage runs `npm ci` on a few MB instead of every dev
// dependency. Plain .mjs: it runs before any dependency is installed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TOOLS = ['esbuild', 'preact', 'uplot', 'swagger-ui-dist'];
const [lockPath = 'package-lock.json', out = 'ui-deps'] = process.argv.slice(2);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;

/** Where npm would find `name` from the package installed at `from` (nested first, then up). */
function resolve(from, name) {
  let base = from;
  for (;;) {
    const path = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[path]) return path;
    if (!base) return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

const keep = new Set();
const visit = (path) => {
  if (keep.has(path)) return;
  keep.add(path);
  const entry = packages[path];
  for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
    const found = resolve(path, name);
    if (found) visit(found);
  }
};
const dependencies = {};
for (const name of TOOLS) {
  const path = `node_modules/${name}`;
  if (!packages[path]) throw new Error(`${name} is not in ${lockPath}`);
  dependencies[name] = packages[path].version;
  visit(path);
}
const manifest = { name: 'strata-ui-build', version: '0.0.0', private: true, dependencies };
const subset = { '': { name: manifest.name, version: manifest.version, dependencies } };
for (const path of [...keep].sort()) {
  const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[path];
  subset[path] = entry;
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(
  join(out, 'package-lock.json'),
  `${JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: subset }, null, 2)}\n`,
);
console.log(`ui build tools: ${Object.keys(subset).length - 1} packages`);
