/** What the link needs from the executor and the registry (structural, so tests can fake them). */
import type { Artifact } from '../core/driver.ts';
import type { ExecutionRecord } from '../core/execution.ts';
import type { ExecutorStats, InvokeRequest, Submission } from '../executor/types.ts';
import type { NodeUsage } from './node-usage.ts';

export interface LinkExecutor {
  submit(request: InvokeRequest): Submission;
  /** Resolves once the invocation's sandbox is empty; false when the id is unknown. */
  cancel(executionId: string): Promise<boolean>;
  pause?(executionId: string): Promise<unknown>;
  resume?(executionId: string): Promise<unknown>;
  stats(): ExecutorStats;
  setConcurrency?(n: number): void;
  drain?(): Promise<void>;
  /** Health of each tier (src/executor's Executor has it); used when no tiersHealth is given. */
  tierHealth?(): Partial<Record<string, { available: boolean; reason?: string }>>;
  on(event: 'start' | 'finish', listener: (record: ExecutionRecord) => void): unknown;
  /** Live log text of running invocations (src/executor emits it while someone listens). */
  on(event: 'log', listener: (executionId: string, text: string) => void): unknown;
  off(event: 'start' | 'finish', listener: (record: ExecutionRecord) => void): unknown;
  off(event: 'log', listener: (executionId: string, text: string) => void): unknown;
}

export interface LinkFunctionVersion {
  name: string;
  version: number;
  digest: string;
}

export interface LinkRegistry {
  getByDigest(digest: string): LinkFunctionVersion | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the registry's FunctionVersion is wider than what the link reads
  artifact(fn: any): Artifact;
  /** Verifies the digest of a fetched artifact and stores it; throws on mismatch. */
  importArtifact(
    manifest: unknown,
    code: Uint8Array,
    expectedDigest: string,
  ): LinkFunctionVersion | Promise<LinkFunctionVersion>;
}

export interface TierReport {
  name: string;
  available: boolean;
  reason?: string;
}

export interface LinkLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  level?: string;
}

export type { NodeUsage };

/** A signature as link.proto carries it. */
export interface LinkSignature {
  keyId: string;
  sig: string;
}

/**
 * The worker's own check of a dispatched artifact's signature (src/governance's Governance):
 * `verifyDispatched` throws signature_required / signature_invalid, or returns a signature to
 * record once the version is stored.
 */
export interface LinkSignatures {
  verifyDispatched(
    artifact: { digest: string; trust: 'trusted' | 'standard' | 'untrusted'; name?: string; version?: number },
    given: LinkSignature | undefined,
  ): LinkSignature | undefined;
  recordDispatched(fn: LinkFunctionVersion, signature: LinkSignature): void;
}
