/**
 * Compiles the dashboard (ui/src, Preact + uPlot) into static files with esbuild and copies the
 * API reference's assets from swagger-ui-dist: everything /ui and /docs serve, no CDN. Run at
 * image build time (`node ui/build.ts`, the Dockerfile's ui stage) or, in a checkout without
 * ui/dist, by the worker on its first /ui or /docs request (see src/gateway/routes/ui.ts).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const UI_DIST = join(HERE, 'dist');

/** The swagger-ui-dist files /docs needs. */
const SWAGGER_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css'] as const;

/** Build into `outDir` (written beside it, then renamed: a reader never sees half a build). */
export async function buildUi(outDir: string = UI_DIST): Promise<string> {
  const { build } = await import('esbuild');
  const temp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(join(temp, 'swagger'), { recursive: true });
  try {
    await build({
      entryPoints: { app: join(HERE, 'src', 'main.ts') },
      bundle: true,
      minify: true,
      format: 'esm',
      target: ['es2022'],
      outdir: temp,
      loader: { '.css': 'css' },
      legalComments: 'none',
      logLevel: 'warning',
    });
    writeFileSync(join(temp, 'index.html'), readFileSync(join(HERE, 'src', 'index.html')));
    const require = createRequire(import.meta.url);
    const swagger = dirname(require.resolve('swagger-ui-dist/package.json'));
    for (const file of SWAGGER_FILES) copyFileSync(join(swagger, file), join(temp, 'swagger', file));
    copyFileSync(join(HERE, 'src', 'docs.html'), join(temp, 'docs.html'));
    copyFileSync(join(HERE, 'src', 'docs-init.js'), join(temp, 'swagger', 'docs-init.js'));
    rmSync(outDir, { recursive: true, force: true });
    try {
      renameSync(temp, outDir);
    } catch (error) {
      // Another process built it at the same moment: theirs is as good as ours.
      rmSync(temp, { recursive: true, force: true });
      if (!existsSync(join(outDir, 'index.html'))) throw error;
    }
    return outDir;
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? UI_DIST;
  const started = performance.now();
  await buildUi(out);
  console.log(`ui built into ${out} in ${Math.round(performance.now() - started)} ms`);
}
