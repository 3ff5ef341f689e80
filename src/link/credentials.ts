/** Channel credentials and options for the worker's gRPC client. */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config/schema.ts';
import { StrataError } from '../core/errors.ts';

export type LinkConfig = Config['link'];

export function channelCredentials(config: LinkConfig): grpc.ChannelCredentials {
  const tls = config.tls;
  if (!tls.enabled) return grpc.credentials.createInsecure();
  if ((tls.cert && !tls.key) || (!tls.cert && tls.key))
    throw new StrataError('invalid_config', 'link.tls.cert and link.tls.key go together (mutual TLS)');
  const read = (p: string) => (p ? readFileSync(p) : null);
  return grpc.credentials.createSsl(read(tls.ca), read(tls.key), read(tls.cert));
}

export function channelOptions(config: LinkConfig): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes,
    'grpc.keepalive_time_ms': config.keepaliveTime,
    'grpc.keepalive_timeout_ms': config.keepaliveTimeout,
    'grpc.keepalive_permit_without_calls': 1,
    // Our own loop reconnects (with jitter and failover); keep the channel's own retries short.
    'grpc.initial_reconnect_backoff_ms': config.reconnectInitial,
    'grpc.max_reconnect_backoff_ms': config.reconnectMax,
    ...(config.tls.serverName ? { 'grpc.ssl_target_name_override': config.tls.serverName } : {}),
  };
}
