import { z } from 'zod';
import { boolean, commaList, duration, integer, secret, size } from '../units.ts';

const addressList = commaList(z.string().regex(/^[^\s,]+:\d{1,5}$/, 'a Master address looks like host:port'));

/**
 * Worker labels as "zone=a,gpu=no" (env STRATA_LINK_LABELS) or a mapping. Kept as that text so the
 * setting is one environment variable; the link parses it with parseLabels().
 */
const labels = z
  .union([z.string(), z.record(z.string(), z.string())])
  .transform((v) =>
    typeof v === 'string'
      ? v
      : Object.entries(v)
          .map(([k, x]) => `${k}=${x}`)
          .join(','),
  )
  .refine((v) => v === '' || v.split(',').every((pair) => /^[^=,\s]+=[^,]*$/.test(pair.trim())), {
    message: 'labels look like "zone=a,gpu=no"',
  });

/** The worker's link to one or more Masters (src/link). */
export const linkSection = z
  .object({
    /** Master gRPC addresses, "host:port[,host:port]" (env STRATA_MASTERS). Empty: no link. */
    masters: addressList.default([]),
    /** Stable worker id; empty: derived from the host name and data dir. */
    workerId: z.string().default(''),
    labels: labels.default(''),
    /** Bearer token sent in the `authorization` metadata; empty: none. */
    token: secret(z.string()).default(''),
    tls: z
      .object({
        enabled: boolean().default(false),
        /** PEM files; `ca` verifies the Master, `cert`+`key` are the client certificate (mTLS). */
        ca: z.string().default(''),
        cert: z.string().default(''),
        key: z.string().default(''),
        /** Override the name checked against the Master's certificate. */
        serverName: z.string().default(''),
      })
      .prefault({}),
    heartbeatInterval: duration().default(1000),
    /** No message from the Master for this long: the session is dropped and re-opened. */
    silenceTimeout: duration().default(3000),
    /** HTTP/2 keepalive pings, so a half-open TCP link is noticed within seconds. */
    keepaliveTime: duration().default(2000),
    keepaliveTimeout: duration().default(2000),
    /** Reconnect backoff: initial delay doubling up to max, with +-jitter fraction. */
    reconnectInitial: duration().default(100),
    reconnectMax: duration().default(5000),
    reconnectJitter: z.coerce.number().min(0).max(1).default(0.2),
    /** Registration must be acknowledged within this long. */
    connectTimeout: duration().default(5000),
    /** push, pull, or hybrid (push below `hybridLow` load, pull above `hybridHigh`). */
    dispatchMode: z.enum(['push', 'pull', 'hybrid']).default('hybrid'),
    hybridHigh: z.coerce.number().gt(0).max(1).default(0.8),
    hybridLow: z.coerce.number().min(0).max(1).default(0.5),
    /** Hybrid: the load is a moving average over about this long (a burst does not flap the mode). */
    hybridSmoothing: duration().default(1000),
    /** Hybrid: least time spent in a mode before switching back. */
    hybridDwell: duration().default(2000),
    /** Unfinished tasks the Master may push at once; 0 = the executor's concurrency. */
    pushWindow: integer().nonnegative().default(0),
    maxMessageBytes: size().default(4 * 1024 ** 2),
    /** Live log bytes buffered while the link is slow or down; the rest is dropped and counted. */
    logBufferBytes: size().default(1024 ** 2),
  })
  .prefault({});
