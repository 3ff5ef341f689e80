/**
 * A loopback TCP proxy that can silently stop forwarding (a half-open link: nothing is closed,
 * bytes just stop arriving) and resume later.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class FreezableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  frozen = false;
  port = 0;
  /** Where new connections go (change it to move the next connection elsewhere). */
  target: number;

  constructor(targetPort: number) {
    this.target = targetPort;
    this.#server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      client.on('data', (d) => {
        if (!this.frozen) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!this.frozen) client.write(d);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      // While frozen, a close is not forwarded either (that is the point of a silent link).
      client.on('close', () => !this.frozen && close());
      upstream.on('close', () => !this.frozen && close());
      client.on('error', () => {});
      upstream.on('error', () => {});
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((res) => this.#server.listen(0, '127.0.0.1', res));
    const address = this.#server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((res) => this.#server.close(() => res()));
  }
}
