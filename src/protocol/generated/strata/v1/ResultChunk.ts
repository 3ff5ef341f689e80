// Original file: proto/strata/v1/link.proto

import type { TaskRef as _strata_v1_TaskRef, TaskRef__Output as _strata_v1_TaskRef__Output } from '../../strata/v1/TaskRef.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * A final result, possibly in several chunks. `record_json` chunks concatenated (by `offset`) are
 * the UTF-8 JSON of the execution record: {id, function{name,version,digest}, status, result,
 * error{code,message}, logs, usage{wallMs, cpuMs, memoryPeakBytes, ..., measured[]}, tier,
 * timings}. `status` and `error_code` repeat the record's for Masters that do not parse it.
 */
export interface ResultChunk {
  'task'?: (_strata_v1_TaskRef | null);
  /**
   * The worker's outbox id: echoed in ResultAck.
   */
  'outboxId'?: (number | string | Long);
  /**
   * "succeeded", "failed", "timeout", "memory_exceeded", "killed", "rejected".
   * A "rejected" result means the code never ran; its error_code is one of: "not_found" (the
   * digest is unknown to the Master too), "invalid_code" (the artifact does not match its digest or
   * does not compile), "invalid_request" (input_json is not JSON), "permission_denied" (the
   * manifest asks more than this node allows), "unsupported_runtime" (no tier here runs it),
   * "capacity_exhausted" (it can never fit this node), "cancelled" (cancelled before it started),
   * "internal".
   */
  'status'?: (string);
  'errorCode'?: (string);
  'offset'?: (number | string | Long);
  'totalBytes'?: (number | string | Long);
  'recordJson'?: (Buffer | Uint8Array | string);
  /**
   * True on the chunk that completes the record.
   */
  'last'?: (boolean);
}

/**
 * A final result, possibly in several chunks. `record_json` chunks concatenated (by `offset`) are
 * the UTF-8 JSON of the execution record: {id, function{name,version,digest}, status, result,
 * error{code,message}, logs, usage{wallMs, cpuMs, memoryPeakBytes, ..., measured[]}, tier,
 * timings}. `status` and `error_code` repeat the record's for Masters that do not parse it.
 */
export interface ResultChunk__Output {
  'task': (_strata_v1_TaskRef__Output | null);
  /**
   * The worker's outbox id: echoed in ResultAck.
   */
  'outboxId': (string);
  /**
   * "succeeded", "failed", "timeout", "memory_exceeded", "killed", "rejected".
   * A "rejected" result means the code never ran; its error_code is one of: "not_found" (the
   * digest is unknown to the Master too), "invalid_code" (the artifact does not match its digest or
   * does not compile), "invalid_request" (input_json is not JSON), "permission_denied" (the
   * manifest asks more than this node allows), "unsupported_runtime" (no tier here runs it),
   * "capacity_exhausted" (it can never fit this node), "cancelled" (cancelled before it started),
   * "internal".
   */
  'status': (string);
  'errorCode': (string);
  'offset': (string);
  'totalBytes': (string);
  'recordJson': (Buffer);
  /**
   * True on the chunk that completes the record.
   */
  'last': (boolean);
}
