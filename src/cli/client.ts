/** A small HTTP client for the worker's API, used by `strata fn`, `strata exec` and later groups. */
import { ApiError, CliError } from './errors.ts';

export interface ClientOptions {
  url?: string | undefined;
  token?: string | undefined;
}

export interface RequestOptions {
  body?: string | FormData;
  contentType?: string;
  /** How to say a 404 for what the command asked for ("no function named x — ..."). */
  notFound?: (err: ApiError) => string;
}

/** The worker the CLI talks to: --url, else STRATA_URL, else http://STRATA_HOST:STRATA_PORT. */
export function workerUrl(url?: string): string {
  const host = process.env.STRATA_HOST || '127.0.0.1';
  const port = process.env.STRATA_PORT || '8080';
  return (url ?? (process.env.STRATA_URL || `http://${host}:${port}`)).replace(/\/$/, '');
}

export class StrataClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = workerUrl(options.url);
    this.#token = options.token ?? (process.env.STRATA_TOKEN || undefined);
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const { body } = options;
    const headers: Record<string, string> = {};
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined && !(body instanceof FormData))
      headers['content-type'] = options.contentType ?? 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      const cause = (err as Error).cause as { code?: string } | undefined;
      if (cause?.code === 'ECONNREFUSED' || cause?.code === 'ENOTFOUND' || cause?.code === 'EHOSTUNREACH') {
        throw new CliError(`no Strata worker at ${this.baseUrl} — start one with \`npm start\` (or pass --url)`);
      }
      const why = cause?.code ?? (cause as Error | undefined)?.message ?? (err as Error).message;
      throw new CliError(`cannot reach the worker at ${this.baseUrl} (${why}) — check --url or STRATA_URL`);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (metrics); keep the text
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
        ?.error;
      const apiError = new ApiError(
        response.status,
        error?.code ?? `http_${response.status}`,
        error?.message ?? `the worker answered HTTP ${response.status}`,
        error?.details,
      );
      apiError.notFound = options.notFound;
      throw apiError;
    }
    return { status: response.status, body: parsed as T };
  }
}

/** A function reference for a URL path: `hello@3` stays readable. */
export const refPath = (ref: string) => encodeURIComponent(ref).replace(/%40/g, '@');
