import { describe, expect, it } from 'vitest';
import { capMemories } from '../../../sandboxes/wasm/binary/memory-cap.ts';
import { inspectModule } from '../../../sandboxes/wasm/binary/sections.ts';
import { validateCoreModule } from '../../../sandboxes/wasm/validate.ts';
import { command, wat } from './wat.ts';

const policy = { capPages: 16 };

async function refusal(
  bytes: Uint8Array | Promise<Uint8Array>,
  entry?: string,
): Promise<{ code: string; message: string }> {
  try {
    validateCoreModule(await bytes, { ...policy, entry });
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a refusal');
}

describe('core module validation', () => {
  it('accepts a WASI command and a plain module with an entry', async () => {
    const cmd = validateCoreModule(await wat(command('')), policy);
    expect(cmd.style).toBe('command');
    const plain = validateCoreModule(
      await wat('(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'),
      { ...policy, entry: 'add' },
    );
    expect(plain).toMatchObject({ style: 'entry', entry: 'add', reactor: false });
  });

  it('refuses random bytes and bad magic', async () => {
    const r = await refusal(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(r.code).toBe('invalid_code');
    expect(r.message).toMatch(/magic/);
  });

  it('refuses a truncated module naming the layout problem', async () => {
    const bytes = await wat(command('i32.const 0 call $proc_exit'));
    const r = await refusal(bytes.subarray(0, bytes.length - 5));
    expect(r.code).toBe('invalid_code');
    expect(r.message).toMatch(/truncated|past the end|malformed|invalid/);
  });

  it('refuses unknown imports and names them', async () => {
    const r = await refusal(wat('(module (import "env" "system" (func (param i32))) (func (export "_start")))'));
    expect(r.message).toContain('env.system');
    const mem = await refusal(wat('(module (import "env" "memory" (memory 1)) (func (export "_start")))'));
    expect(mem.message).toContain('env.memory (memory)');
  });

  it('refuses shared memory, memory64 and a huge initial memory', async () => {
    expect((await refusal(wat('(module (memory 1 2 shared) (func (export "_start")))'))).message).toMatch(/shared/);
    expect((await refusal(wat('(module (memory i64 1) (func (export "_start")))'))).message).toMatch(/memory64/);
    const huge = await refusal(wat('(module (memory 60000) (func (export "_start")))'));
    expect(huge.message).toMatch(/initial size of 60000 pages/);
  });

  it('refuses a module without _start or the named entry', async () => {
    expect((await refusal(wat('(module (func (export "f")))'))).message).toMatch(/_start/);
    expect((await refusal(wat('(module (func (export "f")))'), 'g')).message).toMatch(/"g"/);
  });
});

describe('memory cap rewrite', () => {
  it('gives a memory without a maximum the cap, and lowers a larger maximum', async () => {
    const none = capMemories(await wat('(module (memory 1) (func (export "_start")))'), 16);
    expect(inspectModule(none).memories[0]).toMatchObject({ min: 1, max: 16 });
    expect(WebAssembly.validate(none)).toBe(true);
    const big = capMemories(await wat('(module (memory 2 65536) (data (i32.const 0) "hi"))'), 16);
    expect(inspectModule(big).memories[0]).toMatchObject({ min: 2, max: 16 });
    const small = capMemories(await wat('(module (memory 1 3))'), 16);
    expect(inspectModule(small).memories[0]).toMatchObject({ min: 1, max: 3 });
  });

  it('the rewritten maximum holds at run time', async () => {
    const bytes = capMemories(
      await wat('(module (memory (export "memory") 1) (func (export "grow") (result i32) i32.const 100 memory.grow))'),
      16,
    );
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
    expect((instance.exports.grow as () => number)()).toBe(-1);
  });
});
