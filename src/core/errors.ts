/**
 * One error base class for everything Strata raises on purpose. The gateway maps `code` to an
 * HTTP status in one place (src/gateway/error-handler.ts); execution records carry `{code, message}`.
 * A message says what happened and what to do about it.
 */
export type ErrorCode =
  /** The request body or query is malformed or fails its schema. */
  | 'invalid_request'
  /** A function manifest is invalid (name, runtime, limits, ...). */
  | 'invalid_manifest'
  /** Uploaded code cannot be compiled or validated (syntax error, bad WASM, refused import). */
  | 'invalid_code'
  /** The named function, version or execution does not exist. */
  | 'not_found'
  /** The request body is larger than the configured limit. */
  | 'payload_too_large'
  /** No or wrong credentials. */
  | 'unauthorized'
  /** Credentials are fine but the action is not allowed. */
  | 'forbidden'
  /** Too many requests from this client. */
  | 'rate_limited'
  /** The worker's concurrency and queue are full; retry later. */
  | 'capacity_exhausted'
  /** The runtime is known but no tier can run it yet on this node. */
  | 'unsupported_runtime'
  /** The tier policy picked is not available on this node (daemon down, no root, ...). */
  | 'tier_unavailable'
  /** The function asks for something its trust or the node's policy does not permit. */
  | 'permission_denied'
  /** The function exceeded its wall-clock deadline. */
  | 'timeout'
  /** The function exceeded its memory limit. */
  | 'memory_exceeded'
  /** The function threw, rejected or exited non-zero. */
  | 'function_error'
  /** The function's result is larger than the result cap. */
  | 'result_too_large'
  /** The function's result cannot be represented as JSON. */
  | 'result_not_serializable'
  /** The sandbox host process died while the invocation ran. */
  | 'sandbox_crashed'
  /** A sandbox broke the host protocol (malformed, oversized or out-of-turn frame); status killed, the sandbox is destroyed. */
  | 'protocol_violation'
  /** The invocation was cancelled (by a client, the Master or shutdown). */
  | 'cancelled'
  /** The invocation was stopped to reclaim resources for higher-priority work. */
  | 'reclaimed'
  /** A limit other than time or memory was hit (pids, output, fuel, disk). */
  | 'limit_exceeded'
  /** A fuel-metered WASM function used all of its `limits.fuel` (status `killed`). */
  | 'fuel_exhausted'
  /** The worker stopped (crash, restart) before the invocation finished. */
  | 'interrupted'
  /** The worker is shutting down and takes no new work. */
  | 'shutting_down'
  /** A configuration value is invalid. */
  | 'invalid_config'
  /** A bug in Strata; the message has details. */
  | 'internal';

export class StrataError extends Error {
  readonly code: ErrorCode;
  /** Extra fields for the client (for example the offending setting or import). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'StrataError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export const isStrataError = (value: unknown): value is StrataError => value instanceof StrataError;
