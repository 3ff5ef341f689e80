import { linkSync, lstatSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CoreRunRequest, runCore } from '../../../sandboxes/wasm/run-core.ts';
import { transformCore } from '../../../sandboxes/wasm/transform.ts';
import { command, wat } from './wat.ts';

const CAP = 16;

async function run(text: string, extra: Partial<CoreRunRequest> & { fuel?: number; entry?: string } = {}) {
  const t = await transformCore(await wat(text), { capPages: CAP, fuel: extra.fuel !== undefined, entry: extra.entry });
  return runCore({
    module: new WebAssembly.Module(t.bytes as Uint8Array<ArrayBuffer>),
    style: t.style,
    entry: t.entry,
    reactor: t.reactor,
    metered: t.metered,
    inputJson: '[1,2]',
    resultBytes: 1024,
    logBytes: 1024,
    memoryCapBytes: CAP * 65536,
    ...extra,
  });
}

// Writes the bytes at [ptr,len) to fd via an iovec at 0.
const write = (fd: number, ptr: number, len: number) =>
  `(i32.store (i32.const 0) (i32.const ${ptr})) (i32.store (i32.const 4) (i32.const ${len}))
   (drop (call $fd_write (i32.const ${fd}) (i32.const 0) (i32.const 1) (i32.const 8)))`;

// Echo: read stdin into 100.., write it back to stdout.
const ECHO = command(`
  (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1000))
  (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
  (i32.store (i32.const 4) (i32.load (i32.const 8)))
  (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))`);

describe('runCore', () => {
  it('a command gets the input on stdin and its stdout is the JSON result', async () => {
    const out = await run(ECHO, { inputJson: '{"a":[1,2,3]}' });
    expect(out).toMatchObject({ status: 'succeeded', result: { a: [1, 2, 3] } });
    expect(out.memoryBytes).toBe(65536);
  });

  it('stdout that is not JSON is kept as text; stderr goes to the logs', async () => {
    const out = await run(command(`${write(1, 64, 5)} ${write(2, 69, 4)}`, '(data (i32.const 64) "hello oops")'));
    expect(out).toMatchObject({ status: 'succeeded', result: 'hello', resultIsText: true });
    expect(out.logs).toBe(' oop');
  });

  it('a non-zero exit is failed with the exit code; exit(0) succeeds', async () => {
    const bad = await run(command('(call $proc_exit (i32.const 3))'));
    expect(bad).toMatchObject({ status: 'failed', exitCode: 3, error: { code: 'function_error' } });
    const ok = await run(command(`${write(1, 64, 2)} (call $proc_exit (i32.const 0))`, '(data (i32.const 64) "42")'));
    expect(ok).toMatchObject({ status: 'succeeded', result: 42 });
  });

  it('a plain module gets the input array as arguments', async () => {
    const out = await run(
      '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))',
      {
        entry: 'add',
        inputJson: '[40, 2]',
      },
    );
    expect(out).toMatchObject({ status: 'succeeded', result: 42 });
    const i64 = await run(
      '(module (func (export "mul") (param i64 i64) (result i64) local.get 0 local.get 1 i64.mul))',
      {
        entry: 'mul',
        inputJson: '[6, 7]',
      },
    );
    expect(i64).toMatchObject({ status: 'succeeded', result: 42 });
  });

  it('a stdout flood past the result cap is killed with result_too_large', async () => {
    const out = await run(command(`(loop $l ${write(1, 64, 512)} (br $l))`));
    expect(out).toMatchObject({ status: 'killed', error: { code: 'result_too_large' } });
  });

  it('a memory.grow bomb stops at the cap and is memory_exceeded', async () => {
    const out = await run(
      '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable))',
    );
    expect(out).toMatchObject({ status: 'memory_exceeded', memoryBytes: CAP * 65536 });
  });

  it('fuel: counted deterministically, and exhaustion is killed with fuel_exhausted', async () => {
    const loop = (n: number) =>
      command(
        `(local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const ${n}))))`,
      );
    const a = await run(loop(1000), { fuel: 1_000_000 });
    const b = await run(loop(1000), { fuel: 1_000_000 });
    expect(a.status).toBe('succeeded');
    expect(a.fuelConsumed).toBeGreaterThan(1000);
    expect(b.fuelConsumed).toBe(a.fuelConsumed);
    const spin = await run(command('(loop $l (br $l))'), { fuel: 10_000 });
    expect(spin).toMatchObject({ status: 'killed', error: { code: 'fuel_exhausted' }, fuelConsumed: 10_000 });
  });
});

describe('preview1 filesystem', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'strata-wasm-test-'));
    dirs.push(d);
    return d;
  };
  // path_open(fd, dirflags, path, len, oflags, rights, rights_inh, fdflags, out) then exit with its errno.
  const open = (fd: number, path: string, oflags = 0, rights = '0x42') =>
    command(
      `(call $proc_exit (call $path_open (i32.const ${fd}) (i32.const 0) (i32.const 64) (i32.const ${Buffer.byteLength(path)}) (i32.const ${oflags}) (i64.const ${rights}) (i64.const 0) (i32.const 0) (i32.const 32)))`,
      `(import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
       (data (i32.const 64) "${path}")`,
    );
  const errnoOf = (out: { status: string; exitCode?: number }) => (out.status === 'succeeded' ? 0 : out.exitCode);

  it('without a grant there is no directory at all (EBADF)', async () => {
    expect(errnoOf(await run(open(3, 'etc/passwd')))).toBe(8);
  });

  it('absolute and ../ paths are ENOTCAPABLE inside a granted dir', async () => {
    const d = tempDir();
    expect(errnoOf(await run(open(3, '/etc/passwd'), { tempDir: d }))).toBe(76);
    expect(errnoOf(await run(open(3, '../../etc/passwd'), { tempDir: d }))).toBe(76);
    expect(errnoOf(await run(open(3, 'a/../../x'), { tempDir: d }))).toBe(76);
  });

  it('creates and writes a file inside the granted dir, within the tmp byte cap', async () => {
    const d = tempDir();
    expect(errnoOf(await run(open(3, 'out.txt', 1), { tempDir: d, tmpBytes: 1024 }))).toBe(0);
    expect(readdirSync(d)).toEqual(['out.txt']);
    expect(lstatSync(join(d, 'out.txt')).mode & 0o777).toBe(0o600);
  });

  it('a symlink or hard link planted in the granted dir is refused', async () => {
    const d = tempDir();
    symlinkSync('/etc/passwd', join(d, 'soft'));
    symlinkSync('/etc', join(d, 'dir'));
    writeFileSync(join(d, 'own'), 'x');
    linkSync(join(d, 'own'), join(d, 'hard'));
    expect(errnoOf(await run(open(3, 'soft'), { tempDir: d }))).toBe(32);
    expect(errnoOf(await run(open(3, 'dir/passwd'), { tempDir: d }))).toBe(32);
    expect(errnoOf(await run(open(3, 'hard'), { tempDir: d }))).toBe(76);
  });
});
