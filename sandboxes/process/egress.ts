/**
 * Network egress of one process-tier invocation: an EgressProxy with the function's grant,
 * reachable inside the sandbox at 127.0.0.1:<port> (a listener the worker holds in the
 * sandbox's network namespace) and through a Unix socket bound at /run/strata/egress.sock.
 * Nothing of it runs inside the sandbox; closing it releases the namespace.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import type { NetworkGrant } from '../../src/net/allow-list.ts';
import type { DestinationGuard } from '../../src/net/destination-guard.ts';
import { type Connect, EgressProxy, type EgressRefusal, type EgressStats } from '../../src/net/egress-proxy.ts';
import { listenInNetns } from '../../src/net/netns-listener.ts';

/** The proxy's port inside every sandbox (each has its own namespace, so one number serves all). */
export const EGRESS_PORT = 3128;

export interface SandboxEgressOptions {
  grant: NetworkGrant;
  guard: DestinationGuard;
  socketPath: string;
  maxConnections: number;
  nsenter: string;
  connect?: Connect;
  onRefusal?: (r: EgressRefusal) => void;
}

export class SandboxEgress {
  readonly socketPath: string;
  readonly #proxy: EgressProxy;
  readonly #nsenter: string;
  #listener: Server | undefined;

  private constructor(options: SandboxEgressOptions) {
    this.socketPath = options.socketPath;
    this.#nsenter = options.nsenter;
    this.#proxy = new EgressProxy({
      grant: options.grant,
      guard: options.guard,
      maxConnections: options.maxConnections,
      ...(options.connect ? { connect: options.connect } : {}),
      ...(options.onRefusal ? { onRefusal: options.onRefusal } : {}),
    });
  }

  static async open(options: SandboxEgressOptions): Promise<SandboxEgress> {
    const egress = new SandboxEgress(options);
    mkdirSync(dirname(options.socketPath), { recursive: true, mode: 0o755 });
    await egress.#proxy.listen(options.socketPath);
    return egress;
  }

  /** Listen at 127.0.0.1:EGRESS_PORT in the namespace of `pid` (bwrap's child, still blocked). */
  async attach(pid: number, signal?: AbortSignal): Promise<void> {
    const server = await listenInNetns({
      pid,
      port: EGRESS_PORT,
      nsenter: this.#nsenter,
      ...(signal ? { signal } : {}),
    });
    server.on('connection', (socket) => this.#proxy.accept(socket));
    server.on('error', () => server.close());
    this.#listener = server;
  }

  stats(): EgressStats {
    return this.#proxy.stats();
  }

  async close(): Promise<void> {
    const l = this.#listener;
    this.#listener = undefined;
    if (l) await new Promise<void>((r) => l.close(() => r()));
    await this.#proxy.close();
  }
}
