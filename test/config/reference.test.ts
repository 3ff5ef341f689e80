/** docs/configuration.md is generated from the schema; it must list every setting the schema has. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envNameOf, settingPaths } from '../../src/config/load.ts';
import { configReference } from '../../src/config/reference.ts';

describe('configuration reference', () => {
  it('names every setting and its variable, and the committed docs match the generator', () => {
    const reference = configReference();
    for (const path of settingPaths()) {
      expect(reference).toContain(`| \`${path.join('.')}\` | \`${envNameOf(path)}\` |`);
    }
    const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    // Regenerate with: npm run strata -- config --reference > docs/configuration.md
    expect(committed).toBe(reference);
  });
});
