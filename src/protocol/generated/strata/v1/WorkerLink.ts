// Original file: proto/strata/v1/link.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ArtifactChunk as _strata_v1_ArtifactChunk, ArtifactChunk__Output as _strata_v1_ArtifactChunk__Output } from '../../strata/v1/ArtifactChunk.ts';
import type { FetchArtifactRequest as _strata_v1_FetchArtifactRequest, FetchArtifactRequest__Output as _strata_v1_FetchArtifactRequest__Output } from '../../strata/v1/FetchArtifactRequest.ts';
import type { MasterMessage as _strata_v1_MasterMessage, MasterMessage__Output as _strata_v1_MasterMessage__Output } from '../../strata/v1/MasterMessage.ts';
import type { WorkerMessage as _strata_v1_WorkerMessage, WorkerMessage__Output as _strata_v1_WorkerMessage__Output } from '../../strata/v1/WorkerMessage.ts';

export interface WorkerLinkClient extends grpc.Client {
  /**
   * The session: worker -> Master messages in, Master -> worker messages out.
   */
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_strata_v1_WorkerMessage, _strata_v1_MasterMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_strata_v1_WorkerMessage, _strata_v1_MasterMessage__Output>;
  /**
   * The session: worker -> Master messages in, Master -> worker messages out.
   */
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_strata_v1_WorkerMessage, _strata_v1_MasterMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_strata_v1_WorkerMessage, _strata_v1_MasterMessage__Output>;
  
  /**
   * The artifact (manifest + code) of a function version, by content digest, in chunks. NOT_FOUND
   * when the Master does not hold that digest. The worker MUST verify the digest of what it got.
   */
  FetchArtifact(argument: _strata_v1_FetchArtifactRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_strata_v1_ArtifactChunk__Output>;
  FetchArtifact(argument: _strata_v1_FetchArtifactRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_strata_v1_ArtifactChunk__Output>;
  /**
   * The artifact (manifest + code) of a function version, by content digest, in chunks. NOT_FOUND
   * when the Master does not hold that digest. The worker MUST verify the digest of what it got.
   */
  fetchArtifact(argument: _strata_v1_FetchArtifactRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_strata_v1_ArtifactChunk__Output>;
  fetchArtifact(argument: _strata_v1_FetchArtifactRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_strata_v1_ArtifactChunk__Output>;
  
}

export interface WorkerLinkHandlers extends grpc.UntypedServiceImplementation {
  /**
   * The session: worker -> Master messages in, Master -> worker messages out.
   */
  Connect: grpc.handleBidiStreamingCall<_strata_v1_WorkerMessage__Output, _strata_v1_MasterMessage>;
  
  /**
   * The artifact (manifest + code) of a function version, by content digest, in chunks. NOT_FOUND
   * when the Master does not hold that digest. The worker MUST verify the digest of what it got.
   */
  FetchArtifact: grpc.handleServerStreamingCall<_strata_v1_FetchArtifactRequest__Output, _strata_v1_ArtifactChunk>;
  
}

export interface WorkerLinkDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_strata_v1_WorkerMessage, _strata_v1_MasterMessage, _strata_v1_WorkerMessage__Output, _strata_v1_MasterMessage__Output>
  FetchArtifact: MethodDefinition<_strata_v1_FetchArtifactRequest, _strata_v1_ArtifactChunk, _strata_v1_FetchArtifactRequest__Output, _strata_v1_ArtifactChunk__Output>
}
