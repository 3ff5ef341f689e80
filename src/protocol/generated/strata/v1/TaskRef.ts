// Original file: proto/strata/v1/link.proto

import type { Long } from '@grpc/proto-loader';

export interface TaskRef {
  'taskId'?: (string);
  'attempt'?: (number);
  'epoch'?: (number | string | Long);
}

export interface TaskRef__Output {
  'taskId': (string);
  'attempt': (number);
  'epoch': (string);
}
