import { z } from 'zod';
import { boolean, commaList, duration, integer, secret, size } from '../units.ts';

/** The reference Master (src/master): `strata master`, `npm run master`. */
export const masterSection = z
  .object({
    /** gRPC listen address (env STRATA_MASTER_GRPC). */
    grpc: z.string().default('127.0.0.1:7070'),
    /** HTTP API listen address (env STRATA_MASTER_HTTP). */
    http: z.string().default('127.0.0.1:7080'),
    /** Master id told to workers; empty: derived from the data dir (stable across restarts). */
    id: z.string().default(''),
    /**
     * The shared store: a postgres:// URL runs this Master on PostgreSQL next to any number of
     * others on the same database (docs/master-link.md); empty: the embedded node:sqlite file.
     */
    databaseUrl: secret(
      z.string().refine((v) => v === '' || /^postgres(ql)?:\/\//.test(v), 'must be empty or a postgres:// URL'),
    ).default(''),
    /** A worker silent this long is `lost` and its tasks dispatched again. */
    heartbeatTimeout: duration().default(3000),
    /**
     * A worker whose stream ended (process died, connection closed) is `lost` after this grace
     * unless it reconnects: found in about this long instead of the whole heartbeat timeout.
     */
    reconnectGrace: duration().default(500),
    /** Dispatch mode imposed on workers; `worker` leaves each worker's own setting. */
    dispatchMode: z.enum(['worker', 'push', 'pull', 'hybrid']).default('worker'),
    /** Heartbeat interval imposed on workers; 0 leaves theirs. */
    workerHeartbeatInterval: duration().default(0),
    /** Bearer tokens accepted from workers (comma list); empty: no authentication. */
    tokens: secret(commaList(z.string().min(1))).default([]),
    tls: z
      .object({
        enabled: boolean().default(false),
        cert: z.string().default(''),
        key: z.string().default(''),
        /** CA for client certificates; with `clientAuth` a worker must present one (mTLS). */
        ca: z.string().default(''),
        clientAuth: boolean().default(false),
      })
      .prefault({}),
    maxMessageBytes: size().default(4 * 1024 ** 2),
    /** Artifacts up to this size travel inside the dispatch; larger ones are fetched by digest. */
    inlineArtifactBytes: size().default(64 * 1024),
    /** Dispatches of one task before it is given up as failed. */
    maxAttempts: integer().positive().default(5),
    /** HTTP request bodies (manifests, modules, task inputs). */
    bodyLimit: size().default(16 * 1024 ** 2),
  })
  .prefault({});
