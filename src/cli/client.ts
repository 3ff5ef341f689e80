/** A small HTTP client for the worker's API, used by `strata fn` and `strata exec`. */

export interface ClientOptions {
  url?: string | undefined;
  token?: string | undefined;
}

export class StrataClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;

  constructor(options: ClientOptions = {}) {
    const host = process.env.STRATA_HOST ?? '127.0.0.1';
    const port = process.env.STRATA_PORT ?? '8080';
    this.baseUrl = (options.url ?? process.env.STRATA_URL ?? `http://${host}:${port}`).replace(/\/$/, '');
    this.#token = options.token ?? process.env.STRATA_TOKEN;
  }

  async request<T>(
    method: string,
    path: string,
    body?: string | FormData,
    contentType = 'application/json',
  ): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined && !(body instanceof FormData)) headers['content-type'] = contentType;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      const cause = (err as Error).cause as { code?: string; message?: string } | undefined;
      // Not a StrataError code: nothing went wrong in a worker, the CLI could not find one.
      throw Object.assign(
        new Error(
          `cannot reach the worker at ${this.baseUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}); is \`strata serve\` running? (--url or STRATA_URL)`,
        ),
        { code: 'unreachable' },
      );
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (metrics); keep the text
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } })?.error;
      throw Object.assign(new Error(error?.message ?? `HTTP ${response.status}`), {
        code: error?.code ?? `http_${response.status}`,
      });
    }
    return { status: response.status, body: parsed as T };
  }
}
