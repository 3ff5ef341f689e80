/** Runs a MasterCore behind its gRPC server and HTTP API. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { serve } from '@hono/node-server';
import { StrataError } from '../core/errors.ts';
import { linkProto } from '../protocol/proto.ts';
import type { Database } from '../store/database.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { linkHandlers } from './grpc-service.ts';
import { masterHttpApp } from './http.ts';
import { type MasterConfig, MasterCore, type MasterLogger } from './master.ts';
import { SharedCatalogue } from './shared-catalogue.ts';
import type { MasterStoreBackend } from './store-backend.ts';
import { PostgresMasterStore } from './store-postgres.ts';
import { SqliteMasterStore } from './store-sqlite.ts';
import type { Catalogue } from './types.ts';

export interface MasterServerOptions {
  config: MasterConfig;
  db: Database;
  catalogue: Catalogue;
  /** Used to derive a stable master id when config.id is empty. */
  dataDir: string;
  logger?: MasterLogger;
  /** Serve HTTP too (default true). */
  http?: boolean;
  /** Keys and scopes for the HTTP API (src/master/auth.ts); none: the API is open. */
  tenants?: Tenants;
}

/** Server options shared with tests: keepalive pings from workers every second are welcome. */
export function serverOptions(maxMessageBytes: number): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': 2000,
    'grpc.keepalive_timeout_ms': 2000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 500,
    'grpc.http2.max_ping_strikes': 0,
  };
}

function serverCredentials(config: MasterConfig): grpc.ServerCredentials {
  if (!config.tls.enabled) return grpc.ServerCredentials.createInsecure();
  const read = (path: string, what: string) => {
    if (!path) throw new StrataError('invalid_config', `master.tls.${what} is required when master.tls.enabled`);
    return readFileSync(path);
  };
  const ca = config.tls.ca ? readFileSync(config.tls.ca) : null;
  if (config.tls.clientAuth && !ca)
    throw new StrataError('invalid_config', 'master.tls.clientAuth needs master.tls.ca to verify client certificates');
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ private_key: read(config.tls.key, 'key'), cert_chain: read(config.tls.cert, 'cert') }],
    config.tls.clientAuth,
  );
}

export class MasterServer {
  readonly core: MasterCore;
  readonly #options: MasterServerOptions;
  /** The store: PostgreSQL when `master.databaseUrl` is set, else node:sqlite in `db` (closed by stop()). */
  readonly backend: MasterStoreBackend;
  readonly sharedCatalogue: SharedCatalogue | undefined;
  #grpc: grpc.Server | undefined;
  #http: ReturnType<typeof serve> | undefined;
  grpcAddress = '';
  httpAddress = '';

  constructor(options: MasterServerOptions) {
    this.#options = options;
    const masterId =
      options.config.id || `master-${createHash('sha256').update(resolve(options.dataDir)).digest('hex').slice(0, 12)}`;
    this.backend = options.config.databaseUrl
      ? new PostgresMasterStore({ url: options.config.databaseUrl })
      : new SqliteMasterStore(options.db);
    // On PostgreSQL the catalogue is shared too: deploys are replayed into every Master's own.
    this.sharedCatalogue =
      this.backend.kind === 'postgres'
        ? new SharedCatalogue(options.catalogue, this.backend, options.logger ?? { warn() {} }, (digest, signature) =>
            this.core.signatures.set(digest, signature),
          )
        : undefined;
    this.core = new MasterCore({
      config: options.config,
      backend: this.backend,
      db: options.db,
      catalogue: this.sharedCatalogue ?? options.catalogue,
      masterId,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  async start(): Promise<void> {
    const { config } = this.#options;
    await this.backend.init();
    await this.sharedCatalogue?.start();
    await this.core.open();
    const server = new grpc.Server(serverOptions(config.maxMessageBytes));
    server.addService(linkProto().strata.v1.WorkerLink.service, linkHandlers(this.core));
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync(config.grpc, serverCredentials(config), (err, p) => (err ? rej(err) : res(p))),
    );
    this.#grpc = server;
    this.grpcAddress = `${config.grpc.slice(0, config.grpc.lastIndexOf(':'))}:${port}`;
    this.core.start();
    if (this.#options.http !== false) {
      const [hostname, portText] = splitHostPort(config.http);
      const app = masterHttpApp(this.core, {
        bodyLimit: config.bodyLimit,
        ...(this.#options.tenants ? { tenants: this.#options.tenants } : {}),
      });
      await new Promise<void>((res, rej) => {
        const srv = serve({ fetch: app.fetch, hostname, port: portText }, (info: AddressInfo) => {
          this.httpAddress = `${hostname}:${info.port}`;
          res();
        });
        srv.once('error', rej);
        this.#http = srv;
      });
    }
  }

  async stop(): Promise<void> {
    this.core.stop();
    const server = this.#grpc;
    this.#grpc = undefined;
    if (server) {
      // Streams are long-lived; a graceful shutdown would wait for them forever.
      server.forceShutdown();
    }
    const http = this.#http;
    this.#http = undefined;
    if (http) await new Promise<void>((res) => http.close(() => res()));
    await this.sharedCatalogue?.stop();
    await this.backend.close().catch(() => {});
  }
}

export function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  if (at < 0) throw new StrataError('invalid_config', `"${address}" is not host:port`);
  const port = Number(address.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new StrataError('invalid_config', `"${address}" has no valid port`);
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), port];
}
