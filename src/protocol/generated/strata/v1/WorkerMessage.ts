// Original file: proto/strata/v1/link.proto

import type { Register as _strata_v1_Register, Register__Output as _strata_v1_Register__Output } from '../../strata/v1/Register.ts';
import type { Heartbeat as _strata_v1_Heartbeat, Heartbeat__Output as _strata_v1_Heartbeat__Output } from '../../strata/v1/Heartbeat.ts';
import type { TaskStatus as _strata_v1_TaskStatus, TaskStatus__Output as _strata_v1_TaskStatus__Output } from '../../strata/v1/TaskStatus.ts';
import type { ResultChunk as _strata_v1_ResultChunk, ResultChunk__Output as _strata_v1_ResultChunk__Output } from '../../strata/v1/ResultChunk.ts';
import type { LogChunk as _strata_v1_LogChunk, LogChunk__Output as _strata_v1_LogChunk__Output } from '../../strata/v1/LogChunk.ts';
import type { ControlAck as _strata_v1_ControlAck, ControlAck__Output as _strata_v1_ControlAck__Output } from '../../strata/v1/ControlAck.ts';
import type { PullRequest as _strata_v1_PullRequest, PullRequest__Output as _strata_v1_PullRequest__Output } from '../../strata/v1/PullRequest.ts';
import type { Credits as _strata_v1_Credits, Credits__Output as _strata_v1_Credits__Output } from '../../strata/v1/Credits.ts';

export interface WorkerMessage {
  'register'?: (_strata_v1_Register | null);
  'heartbeat'?: (_strata_v1_Heartbeat | null);
  'taskStatus'?: (_strata_v1_TaskStatus | null);
  'result'?: (_strata_v1_ResultChunk | null);
  'log'?: (_strata_v1_LogChunk | null);
  'controlAck'?: (_strata_v1_ControlAck | null);
  'pull'?: (_strata_v1_PullRequest | null);
  'credits'?: (_strata_v1_Credits | null);
  'body'?: "register"|"heartbeat"|"taskStatus"|"result"|"log"|"controlAck"|"pull"|"credits";
}

export interface WorkerMessage__Output {
  'register'?: (_strata_v1_Register__Output | null);
  'heartbeat'?: (_strata_v1_Heartbeat__Output | null);
  'taskStatus'?: (_strata_v1_TaskStatus__Output | null);
  'result'?: (_strata_v1_ResultChunk__Output | null);
  'log'?: (_strata_v1_LogChunk__Output | null);
  'controlAck'?: (_strata_v1_ControlAck__Output | null);
  'pull'?: (_strata_v1_PullRequest__Output | null);
  'credits'?: (_strata_v1_Credits__Output | null);
  'body'?: "register"|"heartbeat"|"taskStatus"|"result"|"log"|"controlAck"|"pull"|"credits";
}
