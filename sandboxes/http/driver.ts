/**
 * The `http` tier: a function that is a call to the user's own API (runtime "http"). No user code
 * runs; the worker makes the request the manifest describes, with the input JSON as the body
 * (none for GET/HEAD), secrets from the secret store as headers, retries for idempotent methods
 * (exponential backoff with jitter, bounded by the deadline), the response capped
 * (http.maxResponse). Every destination goes through the SSRF guard (src/net): resolved once,
 * the connection pinned to the checked address, redirects refused or re-checked hop by hop.
 *
 * Ends: a 2xx answer succeeds (a JSON body is the result, anything else its text); a non-2xx one
 * ends `failed` with `upstream_error`; a refused destination `failed` with
 * `destination_forbidden`; a body over the cap `killed` with `limit_exceeded`.
 */
import type {
  Artifact,
  DriverCapabilities,
  Invocation,
  RunOptions,
  SandboxDriver,
  TierHealth,
} from '../../src/core/driver.ts';
import { abortError } from '../../src/core/driver.ts';
import { StrataError } from '../../src/core/errors.ts';
import type { RunOutcome } from '../../src/core/execution.ts';
import { usageOf } from '../../src/core/execution.ts';
import type { Manifest } from '../../src/core/manifest.ts';
import type { DestinationGuard } from '../../src/net/destination-guard.ts';
import { defaultTransport, type ExchangeEnd, exchange, type Transport } from './request.ts';

export interface HttpDriverOptions {
  guard: DestinationGuard;
  /** A secret's clear value (the secret store), undefined when it is not set. */
  secret: (name: string) => string | undefined;
  maxResponseBytes: number;
  followRedirects?: boolean;
  /** Replaced in tests to prove no socket is opened for a refused destination. */
  transport?: Transport;
  /** Base of the retry backoff (doubles per attempt, +-50% jitter). */
  retryBaseMs?: number;
  userAgent?: string;
}

export interface PreparedCall {
  url: URL;
  method: string;
  headers: Record<string, string>;
  secrets: NonNullable<Manifest['secrets']>;
  retries: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const MAX_REDIRECTS = 5;
/** How much of an upstream error body goes into the record's message. */
const BODY_HEAD = 300;

export function parseCall(manifest: Manifest): PreparedCall {
  if (!manifest.url) throw new StrataError('invalid_manifest', 'runtime "http" needs "url"');
  const url = new URL(manifest.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new StrataError('invalid_manifest', `url must be http:// or https://, not ${url.protocol}`);
  if (url.username || url.password)
    throw new StrataError('invalid_manifest', 'url must not carry credentials; use "secrets" headers');
  return {
    url,
    method: manifest.method ?? 'POST',
    headers: { ...(manifest.headers ?? {}) },
    secrets: manifest.secrets ?? {},
    retries: manifest.retries ?? 0,
  };
}

const portOf = (url: URL) => (url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);
/** The host as the guard wants it: IPv6 literals without brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

export class HttpDriver implements SandboxDriver<PreparedCall> {
  readonly tier = 'http' as const;
  readonly capabilities: DriverCapabilities = {
    runtimes: ['http'],
    measures: ['wallMs', 'netTxBytes', 'netRxBytes'],
    pause: false,
    enforces: ['timeoutMs'],
    // The destination is the manifest's URL, checked by the guard; nothing else is reachable.
    network: 'allowlist',
    ownProcesses: false,
  };
  readonly #options: HttpDriverOptions;
  readonly #prepared = new Map<string, PreparedCall>();
  readonly #transport: Transport;

  constructor(options: HttpDriverOptions) {
    this.#options = options;
    this.#transport = options.transport ?? defaultTransport;
  }

  async start(): Promise<void> {}

  health(): TierHealth {
    return { available: true };
  }

  /** Checks the URL once per digest; a fixed URL the guard refuses refuses the deploy. */
  async prepare(artifact: Artifact): Promise<PreparedCall> {
    const cached = this.#prepared.get(artifact.digest);
    if (cached) return cached;
    const call = parseCall(artifact.manifest);
    // A manifest that arrived without a deploy here (a Master's dispatch) is held to the same rule.
    const allowed = new Set(artifact.manifest.permissions.secrets ?? []);
    for (const ref of Object.values(call.secrets))
      if (!allowed.has(ref.secret))
        throw new StrataError(
          'permission_denied',
          `secret "${ref.secret}" is used by a header but not listed in permissions.secrets`,
          { permission: 'secrets', secret: ref.secret },
        );
    await this.#options.guard.admit({ host: hostOf(call.url), port: portOf(call.url) }, { kind: 'any' });
    if (this.#prepared.size > 1024) this.#prepared.clear();
    this.#prepared.set(artifact.digest, call);
    return call;
  }

  forget(digest: string): void {
    this.#prepared.delete(digest);
  }

  async dispose(): Promise<void> {
    this.#prepared.clear();
  }

  async run(call: PreparedCall, invocation: Invocation, options: RunOptions): Promise<RunOutcome> {
    const started = performance.now();
    let tx = 0;
    let rx = 0;
    const usage = () => usageOf({ wallMs: Math.round(performance.now() - started), netTxBytes: tx, netRxBytes: rx });
    const failed = (code: 'upstream_error' | 'destination_forbidden', message: string): RunOutcome => ({
      status: 'failed',
      error: { code, message },
      usage: usage(),
      death: { cause: 'error' },
    });
    let headers: Record<string, string>;
    try {
      headers = this.#headers(call);
    } catch (err) {
      return failed('upstream_error', (err as Error).message);
    }
    const hasBody = call.method !== 'GET' && call.method !== 'HEAD';
    const body = hasBody ? Buffer.from(invocation.inputJson) : undefined;
    if (body) headers['content-type'] ??= 'application/json';
    options.onStart?.();
    const attempts = IDEMPOTENT.has(call.method) ? call.retries + 1 : 1;
    let last: RunOutcome | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        const base = (this.#options.retryBaseMs ?? 100) * 2 ** (attempt - 1);
        const wait = base * (0.5 + Math.random());
        // Never sleep past the deadline: the last answer stands.
        if (Date.now() + wait >= options.deadline) break;
        options.logs.write(`retry ${attempt}/${attempts - 1} in ${Math.round(wait)} ms: ${last?.error?.message}\n`);
        if (!(await sleep(wait, options.signal))) break;
      }
      let url = call.url;
      let end: ExchangeEnd | undefined;
      for (let hop = 0; ; hop++) {
        let admitted: Awaited<ReturnType<DestinationGuard['admit']>>;
        try {
          admitted = await this.#options.guard.admit({ host: hostOf(url), port: portOf(url) }, { kind: 'any' });
        } catch (err) {
          return failed('destination_forbidden', (err as Error).message);
        }
        if (options.signal.aborted) break;
        end = await exchange(
          {
            url,
            method: call.method,
            headers,
            ...(body ? { body } : {}),
            admitted,
            maxBytes: this.#options.maxResponseBytes,
            signal: options.signal,
          },
          this.#transport,
        );
        tx += end.tx;
        rx += end.rx;
        if (end.kind !== 'response' || end.status < 300 || end.status >= 400 || end.status === 304) break;
        const location = end.headers.location;
        if (!this.#options.followRedirects || !location) break;
        if (hop + 1 >= MAX_REDIRECTS) return failed('upstream_error', `more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(location, url);
        if (next.protocol !== 'http:' && next.protocol !== 'https:')
          return failed('destination_forbidden', `a redirect to ${next.protocol} is refused (only http and https)`);
        // Secret headers go only to the origin they were configured for.
        if (next.origin !== call.url.origin) for (const h of Object.keys(call.secrets)) delete headers[h.toLowerCase()];
        url = next;
      }
      if (options.signal.aborted || !end || end.kind === 'aborted') {
        const error = abortError(options.signal);
        return {
          status: error.code === 'timeout' ? 'timeout' : 'killed',
          error,
          usage: usage(),
          death: { cause: error.code === 'timeout' ? 'time' : 'cancel' },
        };
      }
      if (end.kind === 'too_large') {
        return {
          status: 'killed',
          error: {
            code: 'limit_exceeded',
            message: `the response body is larger than ${this.#options.maxResponseBytes} bytes (http.maxResponse)`,
          },
          usage: usage(),
          death: { cause: 'result', limit: this.#options.maxResponseBytes },
        };
      }
      if (end.kind === 'network') {
        last = failed('upstream_error', `${call.method} ${url.origin}${url.pathname}: ${end.message}`);
        continue;
      }
      if (end.status >= 200 && end.status < 300) return this.#success(end, usage());
      const head = end.body.subarray(0, BODY_HEAD).toString('utf8');
      const redirect =
        end.status >= 300 && end.status < 400 ? ' (redirects are not followed: http.followRedirects)' : '';
      last = failed(
        'upstream_error',
        `${call.method} ${url.origin}${url.pathname} answered ${end.status}${redirect}: ${head}${end.body.length > BODY_HEAD ? '...' : ''}`,
      );
      // Only a server-side or rate-limit answer is worth another try.
      if (end.status < 500 && end.status !== 429) break;
    }
    return last ?? failed('upstream_error', 'the call was not made before the deadline');
  }

  #headers(call: PreparedCall): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent ?? 'strata-http' };
    for (const [k, v] of Object.entries(call.headers)) headers[k.toLowerCase()] = v;
    for (const [header, ref] of Object.entries(call.secrets)) {
      const value = this.#options.secret(ref.secret);
      if (value === undefined)
        throw new StrataError('upstream_error', `secret "${ref.secret}" is not set; set it with POST /v1/secrets`);
      headers[header.toLowerCase()] = ref.format ? ref.format.replace('{}', value) : value;
    }
    return headers;
  }

  #success(end: Extract<ExchangeEnd, { kind: 'response' }>, usage: RunOutcome['usage']): RunOutcome {
    const type = String(end.headers['content-type'] ?? '');
    const text = end.body.toString('utf8');
    if (/\bjson\b/i.test(type) && text.length > 0) {
      try {
        return { status: 'succeeded', result: JSON.parse(text), usage };
      } catch {
        // A body that says JSON and is not: keep it as text.
      }
    }
    return { status: 'succeeded', result: text, resultIsText: true, usage };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
