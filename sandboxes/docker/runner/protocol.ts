/** Messages of the resident runner protocol (each one JSON frame, see ../framing.ts). */

/** Host -> runner: run one invocation. `source` is sent the first time a container sees a digest. */
export interface RunMessage {
  t: 'run';
  id: string;
  kind: 'js' | 'script';
  digest: string;
  functionName: string;
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

export type RunnerMessage =
  | { t: 'ready'; pid: number; node: string }
  | { t: 'pong'; id: string; rssBytes: number }
  | { t: 'log'; id: string; stream: 'stdout' | 'stderr'; data: string }
  | {
      t: 'result';
      id: string;
      ok: true;
      /** JS: the return value as JSON text. */
      json?: string;
      /** Scripts: stdout text (parsed as JSON by the host when it is JSON). */
      text?: string;
    }
  | {
      t: 'result';
      id: string;
      ok: false;
      code: 'function_error' | 'result_too_large' | 'result_not_serializable';
      message: string;
      exitCode?: number;
      signal?: string;
    };
