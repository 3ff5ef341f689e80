/**
 * A minimal keep-alive HTTP client for the latency rows: node:http on one reused connection, so
 * the client's own cost stays small (fetch/undici adds a few hundred microseconds per call).
 */
import { Agent, request } from 'node:http';

export interface Reply {
  status: number;
  body: string;
}

export class HttpClient {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly base: URL;

  constructor(base: string) {
    this.base = new URL(base);
  }

  send(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers: {
            ...(body !== undefined
              ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
              : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const reply = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (reply.status >= 300) throw new Error(`${method} ${path} -> ${reply.status}: ${reply.body.slice(0, 400)}`);
    return JSON.parse(reply.body) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface ExecutionRecord {
  id: string;
  status: string;
  tier?: string;
  result?: unknown;
  error?: { code: string; message: string };
  logs?: string;
}

/** Invoke a function; throws unless it succeeded (a benchmark of failures measures nothing). */
export async function invoke(client: HttpClient, name: string, input: unknown): Promise<ExecutionRecord> {
  const record = await client.json<ExecutionRecord>('POST', `/v1/functions/${name}/invoke`, input);
  if (record.status !== 'succeeded') {
    const logs = record.logs ? ` (logs: ${record.logs.slice(-300).trim()})` : '';
    throw new Error(`${name}: ${record.status} ${record.error?.code ?? ''} ${record.error?.message ?? ''}${logs}`);
  }
  return record;
}
