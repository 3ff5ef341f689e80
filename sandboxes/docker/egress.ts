/**
 * Network egress of one container (a function granted `permissions.network`). Containers keep
 * `NetworkMode: none` — their own network namespace with only `lo` — and the worker opens a
 * listener at 127.0.0.1:EGRESS_PORT inside that namespace (nsenter into /proc/<pid>/ns/net, see
 * src/net/netns-listener.ts). Connections to it arrive here, in the worker, at an EgressProxy with
 * the function's grant and the node's DestinationGuard: nothing of it runs in the container.
 *
 * A warm container keeps its listener for its life (it serves one function); connections are
 * admitted only while an invocation runs, and whatever is still open when it ends is closed, so
 * no traffic outlives its invocation and each invocation's bytes are its own.
 */
import type { Server, Socket } from 'node:net';
import type { NetworkGrant } from '../../src/net/allow-list.ts';
import type { DestinationGuard } from '../../src/net/destination-guard.ts';
import { type Connect, EgressProxy, type EgressRefusal } from '../../src/net/egress-proxy.ts';
import { listenInNetns } from '../../src/net/netns-listener.ts';

/** The proxy's port inside every container (each has its own namespace, so one number serves all). */
export const EGRESS_PORT = 3128;

/** The variables curl, python, node (NODE_USE_ENV_PROXY) and most HTTP clients read. */
export function proxyEnv(port = EGRESS_PORT): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NODE_USE_ENV_PROXY: '1' };
}

export interface ContainerEgressOptions {
  grant: NetworkGrant;
  guard: DestinationGuard;
  maxConnections: number;
  nsenter: string;
  connect?: Connect;
}

export interface EgressBytes {
  rx: number;
  tx: number;
}

export class ContainerEgress {
  readonly #proxy: EgressProxy;
  readonly #nsenter: string;
  readonly #sockets = new Set<Socket>();
  #listener: Server | undefined;
  #log: ((text: string) => void) | undefined;
  #active = false;
  #base: EgressBytes = { rx: 0, tx: 0 };

  constructor(options: ContainerEgressOptions) {
    this.#nsenter = options.nsenter;
    this.#proxy = new EgressProxy({
      grant: options.grant,
      guard: options.guard,
      maxConnections: options.maxConnections,
      ...(options.connect ? { connect: options.connect } : {}),
      onRefusal: (r: EgressRefusal) => this.#log?.(`strata: egress refused ${r.host}:${r.port}: ${r.message}\n`),
    });
  }

  /** Listen at 127.0.0.1:EGRESS_PORT in the network namespace of `pid` (the container's init, host view). */
  async attach(pid: number, signal?: AbortSignal): Promise<void> {
    const server = await listenInNetns({
      pid,
      port: EGRESS_PORT,
      nsenter: this.#nsenter,
      ...(signal ? { signal } : {}),
    });
    server.on('connection', (socket: Socket) => {
      // Between invocations nothing may go out (a late promise of the last one, for instance).
      if (!this.#active) return void socket.destroy();
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      this.#proxy.accept(socket);
    });
    server.on('error', () => server.close());
    this.#listener = server;
  }

  get attached(): boolean {
    return this.#listener !== undefined;
  }

  #bytes(): EgressBytes {
    const s = this.#proxy.stats();
    return { rx: s.rxBytes, tx: s.txBytes };
  }

  /** An invocation starts: admit connections, refusals go to its logs. */
  begin(log: (text: string) => void): void {
    this.#log = log;
    this.#active = true;
    this.#base = this.#bytes();
  }

  /** Bytes since begin() (read while it runs, and at the end). */
  usage(): EgressBytes {
    const now = this.#bytes();
    return { rx: now.rx - this.#base.rx, tx: now.tx - this.#base.tx };
  }

  /** The invocation ended: close what it left open, admit nothing more; its bytes. */
  end(): EgressBytes {
    this.#active = false;
    for (const s of this.#sockets) s.destroy();
    const used = this.usage();
    this.#log = undefined;
    return used;
  }

  async close(): Promise<void> {
    this.#active = false;
    const l = this.#listener;
    this.#listener = undefined;
    if (l) await new Promise<void>((r) => l.close(() => r()));
    await this.#proxy.close();
  }
}
