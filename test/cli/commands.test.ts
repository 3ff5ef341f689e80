/**
 * The command layer as a user meets it: --help on every command and subcommand, --version,
 * unknown commands and options in one line with a hint (exit 2), a group without its subcommand.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';
import { closedPort, strata } from './support.ts';

/** Every command path in the tree (`fn deploy`, `images build`, ...). */
function paths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

const ALL = paths(buildProgram());
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('the command tree', () => {
  it('keeps every documented command', () => {
    const names = ALL.map((p) => p.join(' '));
    for (const expected of [
      'serve',
      'master',
      'dev',
      'fn deploy',
      'fn invoke',
      'fn list',
      'fn get',
      'fn delete',
      'fn promote',
      'fn rollback',
      'fn aliases',
      'exec get',
      'exec cancel',
      'images build',
      'config',
      'completion',
    ]) {
      expect(names).toContain(expected);
    }
  });

  // Concurrent: each case spawns the CLI (about 2 s of start-up), and none shares state.
  it.concurrent.for(ALL.map((p) => p.join(' ')))(
    'strata %s --help prints its usage and exits 0',
    async (path, { expect }) => {
      const res = await strata([...path.split(' '), '--help']);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(`Usage: strata ${path}`);
    },
  );

  it('strata --help and strata help fn exit 0', async () => {
    const root = await strata(['--help']);
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/Commands:[\s\S]*serve[\s\S]*fn[\s\S]*completion/);
    const help = await strata(['help', 'fn']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: strata fn');
  });

  it('bin/strata runs the same CLI on the project Node', () => {
    const res = spawnSync(join(import.meta.dirname, '..', '..', 'bin', 'strata'), ['--version'], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(res.stdout.trim()).toBe(VERSION);
  });

  it('strata --version prints the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const res = await strata([flag]);
      expect(res.code).toBe(0);
      expect(res.stdout.trim()).toBe(VERSION);
    }
  });
});

describe('usage errors', () => {
  const oneLine = (stderr: string) => expect(stderr.trimEnd().split('\n')).toHaveLength(1);

  it('name an unknown command, suggest the nearest and exit 2', async () => {
    const res = await strata(['fnn', 'list']);
    expect(res.code).toBe(2);
    oneLine(res.stderr);
    expect(res.stderr.trim()).toBe("strata: unknown command 'fnn' (did you mean fn?) — see `strata --help`");
    const sub = await strata(['fn', 'deplyo']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain("strata fn: unknown command 'deplyo' (did you mean deploy?)");
  });

  it('name an unknown option with the command it was given to', async () => {
    const res = await strata(['fn', 'invoke', 'hello', '--dat', '{}']);
    expect(res.code).toBe(2);
    oneLine(res.stderr);
    expect(res.stderr.trim()).toBe(
      "strata fn invoke: unknown option '--dat' (did you mean --data?) — see `strata fn invoke --help`",
    );
  });

  it('name a missing argument, a bad choice and too many arguments', async () => {
    const missing = await strata(['fn', 'promote', 'hello']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'version'");
    const choice = await strata(['fn', 'deploy', 'x.js', '--trust', 'sorta']);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toMatch(/sorta.*is invalid.*trusted, standard, untrusted/);
    const extra = await strata(['exec', 'get', 'a', 'b']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('too many arguments');
  });

  it('a group without its subcommand prints its help and exits 2', async () => {
    const res = await strata(['fn']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Usage: strata fn');
    expect((await strata([])).code).toBe(2);
  });

  it('a root option after the command belongs to the command (fn invoke --version)', async () => {
    const port = await closedPort();
    const res = await strata(['fn', 'invoke', 'hello', '--version', '3', '--url', `http://127.0.0.1:${port}`]);
    expect(res.stdout).not.toContain(VERSION);
    expect(res.stderr).toContain(`no Strata worker at http://127.0.0.1:${port}`);
  });
});
