/** Assemble WAT text in memory (wasm-tools via jco), so tests need no external toolchain. */
import { parse } from '@bytecodealliance/jco';

export async function wat(text: string): Promise<Uint8Array> {
  return parse(text);
}

/** A WASI command skeleton: `body` is the _start function's instructions. */
export const command = (body: string, extra = '') => `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ${extra}
  (memory (export "memory") 1 4)
  (func (export "_start") ${body}))`;
