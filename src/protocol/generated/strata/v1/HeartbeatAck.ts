// Original file: proto/strata/v1/link.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatAck {
  'seq'?: (number | string | Long);
}

export interface HeartbeatAck__Output {
  'seq': (string);
}
