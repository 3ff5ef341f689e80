/**
 * Messages of the two channels inside a warm container (each one JSON frame, see ../framing.ts).
 *
 * host <-> runner: the container's stdin/stdout. Only the runner (uid 0, PID 2) holds them; user
 * code runs as uid 65534 in child processes and cannot open /proc/<runner or tini>/fd/*.
 * runner <-> JS child: fd 3 (runner -> child) and fd 4 (child -> runner) of the persistent
 * "js host" process. User JS runs in that process and can write fd 4, so the runner validates
 * every frame it reads there (child-messages.ts) and the host validates every frame it reads
 * from the runner (../runner-schema.ts).
 */

/** Host -> runner: run one invocation. `source` is sent the first time a container sees a digest. */
export interface RunMessage {
  t: 'run';
  id: string;
  kind: 'js' | 'script';
  digest: string;
  functionName: string;
  functionVersion: number;
  /** Epoch ms (ctx.deadline). */
  deadline: number;
  source?: string;
  interpreter?: string;
  /** The input's JSON text. */
  input: string;
  env: Record<string, string>;
  maxResultBytes: number;
}

/** Host -> runner: health check. */
export interface PingMessage {
  t: 'ping';
  id: string;
}

export type HostMessage = RunMessage | PingMessage;

/** Why an invocation failed, as the runner reports it. */
export type RunnerFailCode =
  | 'function_error'
  | 'result_too_large'
  | 'result_not_serializable'
  /** The JS child broke the runner <-> child protocol (the host destroys the container). */
  | 'protocol_violation'
  /** The JS child died (crash, OOM kill, process.exit). */
  | 'sandbox_crashed';

export type RunnerResult =
  | {
      t: 'result';
      id: string;
      ok: true;
      /** JS: the return value as JSON text. */
      json?: string;
      /** Scripts: stdout text (parsed as JSON by the host when it is JSON). */
      text?: string;
      /** Output bytes dropped since the last result because they came after an invocation ended. */
      late?: number;
    }
  | {
      t: 'result';
      id: string;
      ok: false;
      code: RunnerFailCode;
      message: string;
      exitCode?: number;
      signal?: string;
      late?: number;
    };

export type RunnerMessage =
  | { t: 'ready'; pid: number; node: string }
  | { t: 'pong'; id: string; rssBytes: number }
  | { t: 'log'; id: string; stream: 'stdout' | 'stderr'; data: string }
  | RunnerResult;

/** Runner -> JS child (fd 3). */
export interface ChildRun {
  t: 'run';
  id: string;
  digest: string;
  source?: string;
  input: string;
  env: Record<string, string>;
  fn: { name: string; version: number };
  deadline: number;
  maxResultBytes: number;
  /** Written by the child to its fd 1 and 2 when the invocation ends, so the runner knows where its raw output stops. */
  fence: string;
}

/** Error codes the JS child may report (anything else is a violation). */
export const CHILD_FAIL_CODES = ['function_error', 'result_too_large', 'result_not_serializable'] as const;
export type ChildFailCode = (typeof CHILD_FAIL_CODES)[number];

/** JS child -> runner (fd 4). */
export type ChildMessage =
  | { t: 'ready' }
  | { t: 'log'; id: string; stream: 'stdout' | 'stderr'; data: string }
  | {
      t: 'result';
      id: string;
      ok: true;
      json: string;
      /** Log bytes dropped since the last result (output after an invocation ended). */
      late: number;
      /** Whether the fence went out on [stdout, stderr]. */
      fenced: [boolean, boolean];
    }
  | {
      t: 'result';
      id: string;
      ok: false;
      code: ChildFailCode;
      message: string;
      late: number;
      fenced: [boolean, boolean];
    };

/** Largest log text in one frame (both channels); longer text is split. */
export const LOG_CHUNK_CHARS = 64 * 1024;
/** Error messages are cut to this many characters (with a marker) before they cross a channel. */
export const MAX_MESSAGE_CHARS = 16 * 1024;
/** Frames the runner accepts from its JS child: a result of at most maxResultBytes of JSON, escaped. */
export const childFrameLimit = (maxResultBytes: number): number => 6 * maxResultBytes + 1024 * 1024;

/** Cut `text` to `max` characters with a marker saying how much went. */
export function capText(text: string, max = MAX_MESSAGE_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…[${text.length - max} characters cut]`;
}
