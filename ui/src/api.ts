/** The dashboard's HTTP client: JSON calls with the stored token, and an SSE reader over fetch (EventSource cannot send a token). */

const TOKEN_KEY = 'strata.token';

export const token = {
  get: (): string => localStorage.getItem(TOKEN_KEY) ?? '',
  set: (value: string) => (value ? localStorage.setItem(TOKEN_KEY, value) : localStorage.removeItem(TOKEN_KEY)),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const headers = (): Record<string, string> => (token.get() ? { authorization: `Bearer ${token.get()}` } : {});

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { ...headers(), ...(init.headers ?? {}) } });
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } })?.error;
    throw new ApiError(res.status, error?.code ?? 'error', error?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Read an event stream until it ends or `signal` aborts; `onEvent` sees each event in order.
 * Resolves when the server closes the stream.
 */
export async function stream(path: string, onEvent: (e: SseEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(path, { headers: { ...headers(), accept: 'text/event-stream' }, signal });
  if (!res.ok || !res.body) throw new ApiError(res.status, 'stream', `HTTP ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf('\n\n');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onEvent({ event, data: data.join('\n') });
    }
  }
}

export interface ExecutionRecord {
  id: string;
  function: { name: string; version: number; digest: string };
  status: string;
  result?: unknown;
  error?: { code: string; message: string };
  logs: string;
  usage: Record<string, number | string[]> & { wallMs: number };
  tier: string | null;
  timings: { queuedMs: number; enqueuedAt: string; startedAt: string | null; finishedAt: string | null };
  death?: { cause: string; limit?: number };
  start?: { kind: string; initMs: number };
  placement?: { tier: string | null; requested: string | null; reason?: string };
}

export interface UsageSample {
  at: number;
  cpuMs?: number;
  memoryBytes?: number;
  memoryPeakBytes?: number;
  ioReadBytes?: number;
  ioWriteBytes?: number;
}
