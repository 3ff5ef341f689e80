/** Messages between the wasm driver (main process), the wasm host process and its guest threads. */
import type { CoreRunResult } from '../run-core.ts';

/** How to call a prepared artifact (JSON-safe; the bytes travel separately). */
export type GuestMeta =
  | {
      kind: 'module';
      style: 'command' | 'entry';
      entry: string;
      reactor: boolean;
      metered: boolean;
      maxPages: number;
    }
  | {
      kind: 'component';
      /** Directory holding the transpiled component (component.js + core wasm files). */
      dir: string;
      maxPages: number;
    }
  | {
      kind: 'js';
      /** The JS engine component, capped to this function's memory limit. */
      engineDir: string;
      /** The function's module rewritten into a script body (js-engine/rewrite.ts). */
      sourceFile: string;
      /** The body awaits at top level (runs as an async function). */
      asyncBody: boolean;
      maxPages: number;
    };

/** ctx's fields besides the deadline (CONTRACTS.md "JS ctx"). */
export interface GuestCtx {
  executionId: string;
  name: string;
  version: number;
}

/** Driver -> host: run one invocation. `bytes` is sent only when the host asked for it. */
export interface RunMessage {
  type: 'run';
  key: string;
  meta: GuestMeta;
  bytes?: Uint8Array;
  inputJson: string;
  /** Epoch ms after which the guest thread is terminated. */
  deadline: number;
  ctx: GuestCtx;
  fuel?: number | undefined;
  resultBytes: number;
  logBytes: number;
  /** Grant a per-invocation empty temp dir of this many bytes (permissions.tmp). */
  tmpBytes?: number | undefined;
}

export type HostRunReply =
  | { needBytes: true }
  | (CoreRunResult & { needBytes?: false; wallMs: number; timedOut?: boolean; cancelled?: boolean; crashed?: string });

/** Host -> guest thread. */
export interface ThreadRequest {
  id: number;
  key: string;
  meta: GuestMeta;
  module?: WebAssembly.Module;
  inputJson: string;
  deadline: number;
  ctx: GuestCtx;
  fuel?: number | undefined;
  resultBytes: number;
  logBytes: number;
  tempDir?: string | undefined;
  tmpBytes?: number | undefined;
}

export interface ThreadReply {
  id: number;
  result: CoreRunResult;
}
