// Original file: proto/strata/v1/link.proto

import type { RegisterAck as _strata_v1_RegisterAck, RegisterAck__Output as _strata_v1_RegisterAck__Output } from '../../strata/v1/RegisterAck.ts';
import type { HeartbeatAck as _strata_v1_HeartbeatAck, HeartbeatAck__Output as _strata_v1_HeartbeatAck__Output } from '../../strata/v1/HeartbeatAck.ts';
import type { Dispatch as _strata_v1_Dispatch, Dispatch__Output as _strata_v1_Dispatch__Output } from '../../strata/v1/Dispatch.ts';
import type { Control as _strata_v1_Control, Control__Output as _strata_v1_Control__Output } from '../../strata/v1/Control.ts';
import type { ResultAck as _strata_v1_ResultAck, ResultAck__Output as _strata_v1_ResultAck__Output } from '../../strata/v1/ResultAck.ts';

export interface MasterMessage {
  'registerAck'?: (_strata_v1_RegisterAck | null);
  'heartbeatAck'?: (_strata_v1_HeartbeatAck | null);
  'dispatch'?: (_strata_v1_Dispatch | null);
  'control'?: (_strata_v1_Control | null);
  'resultAck'?: (_strata_v1_ResultAck | null);
  'body'?: "registerAck"|"heartbeatAck"|"dispatch"|"control"|"resultAck";
}

export interface MasterMessage__Output {
  'registerAck'?: (_strata_v1_RegisterAck__Output | null);
  'heartbeatAck'?: (_strata_v1_HeartbeatAck__Output | null);
  'dispatch'?: (_strata_v1_Dispatch__Output | null);
  'control'?: (_strata_v1_Control__Output | null);
  'resultAck'?: (_strata_v1_ResultAck__Output | null);
  'body'?: "registerAck"|"heartbeatAck"|"dispatch"|"control"|"resultAck";
}
