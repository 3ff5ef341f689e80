/**
 * One error base class for everything Strata raises on purpose. `httpStatusOf(code)` below is the
 * one code -> HTTP status map (the worker gateway and the Master both use it); execution records
 * carry `{code, message}`. A message says what happened and what to do about it.
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
  /** The SSRF guard refused a network destination (forbidden address class, not in the allow-list). */
  | 'destination_forbidden'
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
  /** The function's outcome could not be read safely (a forged thenable on a prototype, a trap on the returned value); status failed. */
  | 'malformed_outcome'
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
  /** A sandbox broke the host protocol (forged or malformed frame); the sandbox is destroyed, status killed. */
  | 'protocol_violation'
  /** A pre-processing plugin refused the invocation (status rejected; a record code). */
  | 'plugin_rejected'
  /** A plugin hook threw or overran its budget (pre: status rejected; post/monitor: record.plugins.errors). */
  | 'plugin_failed'
  /** An API-call function's upstream answered non-2xx (status failed; a record code). */
  | 'upstream_error'
  /** The SSRF guard refused an outbound destination (status failed, or the deploy when the URL is fixed). */
  | 'destination_forbidden'
  /** Code review rejected the version at deploy (422 with the findings). */
  | 'review_rejected'
  /** The invoked version waits for manual approval (status rejected; a record code). */
  | 'pending_review'
  /** The trust level asked needs a signature and none came with the deploy. */
  | 'signature_required'
  /** The deploy's signature does not verify with the configured key. */
  | 'signature_invalid'
  /** A tenant quota is used up (429 on invoke, 403 at deploy). */
  | 'quota_exceeded'
  /** The request conflicts with the current state (unload a plugin another one requires, ...). */
  | 'conflict'
  /** The path exists but not with this method (405 with an Allow header). */
  | 'method_not_allowed'
  /** A peer the request needs is not reachable now (a worker not connected, a Master stopping); retry later. */
  | 'unavailable'
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

/** HTTP status of each code a request can fail with. Codes only records carry are absent (500 if thrown). */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  invalid_request: 400,
  invalid_manifest: 400,
  invalid_code: 400,
  unsupported_runtime: 400,
  unauthorized: 401,
  forbidden: 403,
  permission_denied: 403,
  /** A callback URL refused at request time (the record code of the http runtime stays `failed`). */
  destination_forbidden: 403,
  signature_required: 403,
  signature_invalid: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  review_rejected: 422,
  rate_limited: 429,
  quota_exceeded: 429,
  capacity_exhausted: 503,
  shutting_down: 503,
  tier_unavailable: 503,
  unavailable: 503,
};

/**
 * The HTTP status a request failing with `code` answers. `when: 'deploy'` is for the deploy
 * routes, where a used-up quota is a refusal (403) rather than "retry later" (429). `'control'`
 * is for the Master's control routes, answered from a worker's ControlAck: there `timeout` means
 * the worker did not answer in time (504), and a code the worker sent that has no status of its
 * own is a refusal of the task's current state (409).
 */
export function httpStatusOf(code: ErrorCode, when: 'invoke' | 'deploy' | 'control' = 'invoke'): number {
  if (code === 'quota_exceeded' && when === 'deploy') return 403;
  if (when === 'control') {
    if (code === 'timeout') return 504;
    return HTTP_STATUS[code] ?? 409;
  }
  return HTTP_STATUS[code] ?? 500;
}

export const isStrataError = (value: unknown): value is StrataError => value instanceof StrataError;
