import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Artifact as _strata_v1_Artifact, Artifact__Output as _strata_v1_Artifact__Output } from './strata/v1/Artifact.ts';
import type { ArtifactChunk as _strata_v1_ArtifactChunk, ArtifactChunk__Output as _strata_v1_ArtifactChunk__Output } from './strata/v1/ArtifactChunk.ts';
import type { ArtifactSignature as _strata_v1_ArtifactSignature, ArtifactSignature__Output as _strata_v1_ArtifactSignature__Output } from './strata/v1/ArtifactSignature.ts';
import type { Control as _strata_v1_Control, Control__Output as _strata_v1_Control__Output } from './strata/v1/Control.ts';
import type { ControlAck as _strata_v1_ControlAck, ControlAck__Output as _strata_v1_ControlAck__Output } from './strata/v1/ControlAck.ts';
import type { Credits as _strata_v1_Credits, Credits__Output as _strata_v1_Credits__Output } from './strata/v1/Credits.ts';
import type { Dispatch as _strata_v1_Dispatch, Dispatch__Output as _strata_v1_Dispatch__Output } from './strata/v1/Dispatch.ts';
import type { Drain as _strata_v1_Drain, Drain__Output as _strata_v1_Drain__Output } from './strata/v1/Drain.ts';
import type { FetchArtifactRequest as _strata_v1_FetchArtifactRequest, FetchArtifactRequest__Output as _strata_v1_FetchArtifactRequest__Output } from './strata/v1/FetchArtifactRequest.ts';
import type { FunctionRef as _strata_v1_FunctionRef, FunctionRef__Output as _strata_v1_FunctionRef__Output } from './strata/v1/FunctionRef.ts';
import type { Heartbeat as _strata_v1_Heartbeat, Heartbeat__Output as _strata_v1_Heartbeat__Output } from './strata/v1/Heartbeat.ts';
import type { HeartbeatAck as _strata_v1_HeartbeatAck, HeartbeatAck__Output as _strata_v1_HeartbeatAck__Output } from './strata/v1/HeartbeatAck.ts';
import type { LogChunk as _strata_v1_LogChunk, LogChunk__Output as _strata_v1_LogChunk__Output } from './strata/v1/LogChunk.ts';
import type { MasterMessage as _strata_v1_MasterMessage, MasterMessage__Output as _strata_v1_MasterMessage__Output } from './strata/v1/MasterMessage.ts';
import type { PullRequest as _strata_v1_PullRequest, PullRequest__Output as _strata_v1_PullRequest__Output } from './strata/v1/PullRequest.ts';
import type { Register as _strata_v1_Register, Register__Output as _strata_v1_Register__Output } from './strata/v1/Register.ts';
import type { RegisterAck as _strata_v1_RegisterAck, RegisterAck__Output as _strata_v1_RegisterAck__Output } from './strata/v1/RegisterAck.ts';
import type { Resources as _strata_v1_Resources, Resources__Output as _strata_v1_Resources__Output } from './strata/v1/Resources.ts';
import type { ResultAck as _strata_v1_ResultAck, ResultAck__Output as _strata_v1_ResultAck__Output } from './strata/v1/ResultAck.ts';
import type { ResultChunk as _strata_v1_ResultChunk, ResultChunk__Output as _strata_v1_ResultChunk__Output } from './strata/v1/ResultChunk.ts';
import type { TaskRef as _strata_v1_TaskRef, TaskRef__Output as _strata_v1_TaskRef__Output } from './strata/v1/TaskRef.ts';
import type { TaskStatus as _strata_v1_TaskStatus, TaskStatus__Output as _strata_v1_TaskStatus__Output } from './strata/v1/TaskStatus.ts';
import type { TierInfo as _strata_v1_TierInfo, TierInfo__Output as _strata_v1_TierInfo__Output } from './strata/v1/TierInfo.ts';
import type { WorkerConfig as _strata_v1_WorkerConfig, WorkerConfig__Output as _strata_v1_WorkerConfig__Output } from './strata/v1/WorkerConfig.ts';
import type { WorkerLinkClient as _strata_v1_WorkerLinkClient, WorkerLinkDefinition as _strata_v1_WorkerLinkDefinition } from './strata/v1/WorkerLink.ts';
import type { WorkerMessage as _strata_v1_WorkerMessage, WorkerMessage__Output as _strata_v1_WorkerMessage__Output } from './strata/v1/WorkerMessage.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  strata: {
    v1: {
      Artifact: MessageTypeDefinition<_strata_v1_Artifact, _strata_v1_Artifact__Output>
      ArtifactChunk: MessageTypeDefinition<_strata_v1_ArtifactChunk, _strata_v1_ArtifactChunk__Output>
      ArtifactSignature: MessageTypeDefinition<_strata_v1_ArtifactSignature, _strata_v1_ArtifactSignature__Output>
      Control: MessageTypeDefinition<_strata_v1_Control, _strata_v1_Control__Output>
      ControlAck: MessageTypeDefinition<_strata_v1_ControlAck, _strata_v1_ControlAck__Output>
      Credits: MessageTypeDefinition<_strata_v1_Credits, _strata_v1_Credits__Output>
      Dispatch: MessageTypeDefinition<_strata_v1_Dispatch, _strata_v1_Dispatch__Output>
      DispatchMode: EnumTypeDefinition
      Drain: MessageTypeDefinition<_strata_v1_Drain, _strata_v1_Drain__Output>
      FetchArtifactRequest: MessageTypeDefinition<_strata_v1_FetchArtifactRequest, _strata_v1_FetchArtifactRequest__Output>
      FunctionRef: MessageTypeDefinition<_strata_v1_FunctionRef, _strata_v1_FunctionRef__Output>
      Heartbeat: MessageTypeDefinition<_strata_v1_Heartbeat, _strata_v1_Heartbeat__Output>
      HeartbeatAck: MessageTypeDefinition<_strata_v1_HeartbeatAck, _strata_v1_HeartbeatAck__Output>
      LogChunk: MessageTypeDefinition<_strata_v1_LogChunk, _strata_v1_LogChunk__Output>
      MasterMessage: MessageTypeDefinition<_strata_v1_MasterMessage, _strata_v1_MasterMessage__Output>
      NodeStatus: EnumTypeDefinition
      PullRequest: MessageTypeDefinition<_strata_v1_PullRequest, _strata_v1_PullRequest__Output>
      Register: MessageTypeDefinition<_strata_v1_Register, _strata_v1_Register__Output>
      RegisterAck: MessageTypeDefinition<_strata_v1_RegisterAck, _strata_v1_RegisterAck__Output>
      Resources: MessageTypeDefinition<_strata_v1_Resources, _strata_v1_Resources__Output>
      ResultAck: MessageTypeDefinition<_strata_v1_ResultAck, _strata_v1_ResultAck__Output>
      ResultChunk: MessageTypeDefinition<_strata_v1_ResultChunk, _strata_v1_ResultChunk__Output>
      TaskRef: MessageTypeDefinition<_strata_v1_TaskRef, _strata_v1_TaskRef__Output>
      TaskState: EnumTypeDefinition
      TaskStatus: MessageTypeDefinition<_strata_v1_TaskStatus, _strata_v1_TaskStatus__Output>
      TierInfo: MessageTypeDefinition<_strata_v1_TierInfo, _strata_v1_TierInfo__Output>
      WorkerConfig: MessageTypeDefinition<_strata_v1_WorkerConfig, _strata_v1_WorkerConfig__Output>
      WorkerLink: SubtypeConstructor<typeof grpc.Client, _strata_v1_WorkerLinkClient> & { service: _strata_v1_WorkerLinkDefinition }
      WorkerMessage: MessageTypeDefinition<_strata_v1_WorkerMessage, _strata_v1_WorkerMessage__Output>
    }
  }
}

