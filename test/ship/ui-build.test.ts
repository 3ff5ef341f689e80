/** The dashboard's sources type-check (DOM lib, ui/tsconfig.json) and build into self-contained static files. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildUi } from '../../ui/build.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('ui build', () => {
  it('type-checks ui/src', () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    expect(() =>
      execFileSync(tsc, ['-p', join(ROOT, 'ui', 'tsconfig.json')], { stdio: 'pipe', timeout: 120_000 }),
    ).not.toThrow();
  }, 150_000);

  it('builds index.html, the bundle, its styles and the reference assets, with no outside URL', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'strata-ui-')), 'dist');
    try {
      await buildUi(out);
      expect(readdirSync(out).sort()).toEqual(['app.css', 'app.js', 'docs.html', 'index.html', 'swagger']);
      expect(readdirSync(join(out, 'swagger')).sort()).toEqual([
        'docs-init.js',
        'swagger-ui-bundle.js',
        'swagger-ui.css',
      ]);
      for (const page of ['index.html', 'docs.html']) {
        const html = readFileSync(join(out, page), 'utf8');
        expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
      }
      expect(readFileSync(join(out, 'app.js'), 'utf8')).not.toMatch(/https?:\/\/(cdn|unpkg|fonts)\./);
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  }, 60_000);
});
