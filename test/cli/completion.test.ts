/**
 * `strata completion bash|zsh`: the script is generated from the command tree; bash runs it and
 * completes commands, subcommands, options, option choices and file arguments.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strata } from './support.ts';

let dir: string;
let script: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-completion-'));
  writeFileSync(join(dir, 'hello.js'), 'export default () => 1\n');
  writeFileSync(join(dir, 'help-me.txt'), '');
  const res = await strata(['completion', 'bash']);
  expect(res.code).toBe(0);
  script = join(dir, 'strata.bash');
  writeFileSync(script, res.stdout);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash's completion function offers for the words typed so far (the last one is being typed). */
function complete(...words: string[]): string[] {
  const program = `source ${JSON.stringify(script)}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=()
_strata
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['-c', program], { cwd: dir, encoding: 'utf8' });
  return out.split('\n').filter(Boolean).sort();
}

describe('bash completion', () => {
  it('is valid bash', () => {
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
  });

  it('completes commands and subcommands', () => {
    expect(complete('strata', '')).toEqual(
      [
        'completion',
        'config',
        'dev',
        'exec',
        'fn',
        'help',
        'images',
        'keys',
        'logs',
        'plugin',
        'plugins',
        'master',
        'secrets',
        'serve',
        'signing',
        'tenants',
      ].sort(),
    );
    expect(complete('strata', 'f')).toEqual(['fn']);
    expect(complete('strata', 'fn', '')).toEqual(
      ['aliases', 'delete', 'deploy', 'get', 'help', 'invoke', 'list', 'ls', 'promote', 'rm', 'rollback'].sort(),
    );
    expect(complete('strata', 'fn', 'ro')).toEqual(['rollback']);
    expect(complete('strata', 'images', '')).toEqual(['build', 'help']);
  });

  it('completes options of the command typed, past options that take a value', () => {
    expect(complete('strata', 'fn', 'deploy', '--tr')).toEqual(['--trust']);
    expect(complete('strata', 'fn', 'invoke', 'hello', '--data', '{}', '--as')).toEqual(['--async']);
    expect(complete('strata', 'fn', 'ls', '--j')).toEqual(['--json']);
    expect(complete('strata', '--v')).toEqual(['--version']);
  });

  it('completes choices of an option and of an argument', () => {
    expect(complete('strata', 'fn', 'deploy', '--trust', '')).toEqual(['standard', 'trusted', 'untrusted']);
    expect(complete('strata', 'images', 'build', '--kind', '')).toEqual(['js', 'script']);
    expect(complete('strata', 'completion', '')).toEqual(['bash', 'zsh']);
  });

  it('completes file names where a file is asked for', () => {
    expect(complete('strata', 'fn', 'deploy', 'hel')).toEqual(['hello.js', 'help-me.txt']);
    expect(complete('strata', 'fn', 'deploy', '--name', 'x', 'hello')).toEqual(['hello.js']);
    expect(complete('strata', 'fn', 'invoke', 'x', '--data-file', 'he')).toEqual(['hello.js', 'help-me.txt']);
    expect(complete('strata', 'serve', '--config', 'help')).toEqual(['help-me.txt']);
    // A function name is not a file.
    expect(complete('strata', 'fn', 'invoke', 'hel')).toEqual([]);
  });
});

describe('zsh completion', () => {
  it('loads the same functions through bashcompinit', async () => {
    const res = await strata(['completion', 'zsh']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('autoload -U +X bashcompinit && bashcompinit');
    const bash = (await strata(['completion', 'bash'])).stdout;
    const functions = bash.slice(bash.indexOf('_strata_subcommands()'));
    expect(res.stdout).toContain(functions.trim());
    const zsh = spawnSync('zsh', ['-n'], { input: res.stdout });
    // zsh is not installed everywhere: check its syntax where it is.
    if (!zsh.error) expect(zsh.status).toBe(0);
  });

  it('refuses another shell with exit 2', async () => {
    const res = await strata(['completion', 'fish']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/fish.*is invalid.*bash, zsh/);
  });
});
