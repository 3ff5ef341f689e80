// Original file: proto/strata/v1/link.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The outcome of a control message. For a cancel, sent only once the task's sandbox is empty.
 */
export interface ControlAck {
  'controlId'?: (number | string | Long);
  'ok'?: (boolean);
  /**
   * A Strata error code ("not_found", "forbidden", ...) when !ok.
   */
  'code'?: (string);
  'message'?: (string);
}

/**
 * The outcome of a control message. For a cancel, sent only once the task's sandbox is empty.
 */
export interface ControlAck__Output {
  'controlId': (string);
  'ok': (boolean);
  /**
   * A Strata error code ("not_found", "forbidden", ...) when !ok.
   */
  'code': (string);
  'message': (string);
}
