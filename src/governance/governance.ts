/**
 * Function governance at deploy and before each run: permission checks beyond the network cap
 * (secrets), signatures, code review with its verdict, manual approval, and the escalation a
 * review warning causes. Reviews are stored by digest (the same content gets the same review);
 * approval state and the signature by version. What gates an invocation is one pre hook of the
 * executor's phases (src/executor/phases.ts), not a second mechanism.
 */
import type { Config } from '../config/schema.ts';
import type { Artifact, SandboxDriver } from '../core/driver.ts';
import { StrataError } from '../core/errors.ts';
import type { Manifest } from '../core/manifest.ts';
import type { TierName } from '../core/tiers.ts';
import { resolveLimits } from '../executor/limits.ts';
import type { PreHook } from '../executor/phases.ts';
import type { PlacementRequest } from '../executor/policy.ts';
import type { FunctionVersion, Registry } from '../registry/registry.ts';
import type { Database } from '../store/database.ts';
import { AUTOMATIC_REVIEWER, type Finding, type ReviewReport, reviewArtifact } from './review/index.ts';
import { type Signature, Signer } from './signing.ts';

const MIGRATIONS = [
  `CREATE TABLE governance_reviews (
     digest TEXT PRIMARY KEY,
     report TEXT NOT NULL
   );
   CREATE TABLE governance_versions (
     name TEXT NOT NULL,
     version INTEGER NOT NULL,
     digest TEXT NOT NULL,
     state TEXT NOT NULL,
     signature TEXT,
     decided_by TEXT,
     decided_at TEXT,
     PRIMARY KEY (name, version)
   );`,
];

/** A version's standing: runs (`active`), waits for an admin (`pending`), refused by one (`rejected`). */
export type VersionState = 'active' | 'pending' | 'rejected';

interface VersionRow {
  state: VersionState;
  signature: Signature | undefined;
  decidedBy: string | undefined;
  decidedAt: string | undefined;
}

/** The contract answer of GET /v1/functions/:name/review. */
export interface ReviewAnswer {
  verdict: 'pass' | 'warn' | 'reject' | 'pending';
  findings: Finding[];
  reviewedAt: string;
  reviewer: string;
  state: VersionState;
  /** The automatic review's own verdict (what `verdict` was before an admin's decision). */
  automatic: ReviewReport['verdict'];
  decidedAt?: string;
}

/** Escalation target of a warned trusted function: the next stronger tier than the isolate. */
const ESCALATE_TO: TierName = 'wasm';

export interface GovernanceOptions {
  db: Database;
  config: Config;
  registry: Registry;
  /** The process tier (runs the Python reviewer), looked up when needed. */
  processDriver?: () => SandboxDriver | undefined;
}

export class Governance {
  readonly signer: Signer;
  readonly #db: Database;
  readonly #config: Config;
  readonly #registry: Registry;
  readonly #processDriver: () => SandboxDriver | undefined;
  readonly #escalations = new Map<string, PlacementRequest['escalate'] | null>();
  readonly #states = new Map<string, VersionRow | null>();
  readonly preHook: PreHook;

  constructor(options: GovernanceOptions) {
    this.#db = options.db;
    this.#config = options.config;
    this.#registry = options.registry;
    this.#processDriver = options.processDriver ?? (() => undefined);
    this.#db.migrate('governance', MIGRATIONS);
    this.signer = new Signer(options.config.signing);
    // Its own budget: a database read on a loaded node must not turn into plugin_failed.
    this.preHook = {
      name: 'governance',
      budgetMs: 5000,
      pre: (inv) => this.#gate(inv.function.name, inv.function.version),
    };
  }

  /** Deploy-time permission checks beyond the network cap (the executor checks that one). */
  checkPermissions(manifest: Manifest): void {
    const listed = manifest.permissions.secrets ?? [];
    if (listed.length > 0 && !this.#config.policy.permissions[manifest.trust].secrets)
      throw new StrataError(
        'permission_denied',
        `function "${manifest.name}" asks permissions.secrets, but ${manifest.trust} functions may use no secrets on this node (policy.permissions.${manifest.trust}.secrets = false)`,
        { permission: 'secrets' },
      );
    const allowed = new Set(listed);
    for (const [header, ref] of Object.entries(manifest.secrets ?? {}))
      if (!allowed.has(ref.secret))
        throw new StrataError(
          'permission_denied',
          `header ${header} uses secret "${ref.secret}", which permissions.secrets does not list; add it there`,
          { permission: 'secrets', secret: ref.secret },
        );
    if (manifest.runtime !== 'http' && (manifest.url || manifest.method || manifest.headers || manifest.secrets))
      throw new StrataError(
        'invalid_manifest',
        'url, method, headers and secrets are fields of runtime "http" functions',
      );
  }

  /** Review an artifact; `persist` stores the report by digest (a dry run stores nothing). */
  async review(artifact: Artifact, persist: boolean): Promise<ReviewReport> {
    const report = await reviewArtifact(artifact, {
      settings: this.#config.review,
      processDriver: this.#processDriver(),
      limits: resolveLimits({}, this.#config.limits),
    });
    if (persist) {
      this.#db.db
        .prepare(
          'INSERT INTO governance_reviews (digest, report) VALUES (?, ?) ON CONFLICT (digest) DO UPDATE SET report = excluded.report',
        )
        .run(artifact.digest, JSON.stringify(report));
      this.#escalations.delete(artifact.digest);
    }
    return report;
  }

  reportOf(digest: string): ReviewReport | undefined {
    const row = this.#db.db.prepare('SELECT report FROM governance_reviews WHERE digest = ?').get(digest) as
      | { report: string }
      | undefined;
    return row ? (JSON.parse(row.report) as ReviewReport) : undefined;
  }

  /** A warned trusted function runs no weaker than the wasm tier; the reason names the rule and line. */
  escalationOf(artifact: Pick<Artifact, 'digest' | 'manifest'>): PlacementRequest['escalate'] {
    const cached = this.#escalations.get(artifact.digest);
    if (cached !== undefined) return cached ?? undefined;
    let escalate: PlacementRequest['escalate'] | null = null;
    if (this.#config.review.escalate && artifact.manifest.trust === 'trusted') {
      const first = this.reportOf(artifact.digest)?.findings.find((f) => f.severity === 'warn');
      if (first)
        escalate = {
          atLeast: ESCALATE_TO,
          reason: `escalated: review rule ${first.rule}${first.line !== undefined ? ` (line ${first.line})` : ''}`,
        };
    }
    if (this.#escalations.size > 4096) this.#escalations.clear();
    this.#escalations.set(artifact.digest, escalate);
    return escalate ?? undefined;
  }

  /** Record a stored version's standing: pending when its trust needs approval, else active. */
  recordVersion(fn: FunctionVersion, signature: Signature | undefined): VersionState {
    const state: VersionState = this.#config.review.requireApproval[fn.manifest.trust] ? 'pending' : 'active';
    this.#db.db
      .prepare(
        `INSERT INTO governance_versions (name, version, digest, state, signature) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name, version) DO NOTHING`,
      )
      .run(fn.name, fn.version, fn.digest, state, signature ? JSON.stringify(signature) : null);
    // Written through: the pre hook answers from memory (it runs within executor.hookBudget).
    this.#states.delete(`${fn.name}@${fn.version}`);
    this.versionRow(fn.name, fn.version);
    return state;
  }

  versionRow(name: string, version: number): VersionRow | undefined {
    const key = `${name}@${version}`;
    const cached = this.#states.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const row = this.#db.db
      .prepare(
        'SELECT state, signature, decided_by, decided_at FROM governance_versions WHERE name = ? AND version = ?',
      )
      .get(name, version) as
      | { state: VersionState; signature: string | null; decided_by: string | null; decided_at: string | null }
      | undefined;
    const value: VersionRow | null = row
      ? {
          state: row.state,
          signature: row.signature ? (JSON.parse(row.signature) as Signature) : undefined,
          decidedBy: row.decided_by ?? undefined,
          decidedAt: row.decided_at ?? undefined,
        }
      : null;
    if (this.#states.size > 4096) this.#states.clear();
    this.#states.set(key, value);
    return value ?? undefined;
  }

  /** What GET /v1/functions/:name shows of a version's governance. */
  describe(fn: FunctionVersion): Record<string, unknown> {
    const row = this.versionRow(fn.name, fn.version);
    const report = this.reportOf(fn.digest);
    return {
      ...(row?.signature ? { signature: row.signature } : {}),
      ...(row ? { reviewState: row.state } : {}),
      ...(report ? { review: { verdict: row?.state === 'pending' ? 'pending' : report.verdict } } : {}),
    };
  }

  reviewAnswer(fn: FunctionVersion): ReviewAnswer {
    const row = this.versionRow(fn.name, fn.version);
    const report = this.reportOf(fn.digest) ?? {
      verdict: 'pass' as const,
      findings: [],
      reviewedAt: fn.createdAt,
      reviewer: 'none (the version arrived without a deploy here)',
    };
    const state = row?.state ?? 'active';
    return {
      verdict: state === 'pending' ? 'pending' : state === 'rejected' ? 'reject' : report.verdict,
      findings: report.findings,
      reviewedAt: row?.decidedAt ?? report.reviewedAt,
      reviewer: row?.decidedBy ?? report.reviewer ?? AUTOMATIC_REVIEWER,
      state,
      automatic: report.verdict,
      ...(row?.decidedAt ? { decidedAt: row.decidedAt } : {}),
    };
  }

  /** An admin's decision on a version: approve lets it run, reject refuses it for good. */
  decide(fn: FunctionVersion, decision: 'approve' | 'reject', by: string): ReviewAnswer {
    const current = this.versionRow(fn.name, fn.version);
    if (current?.state === 'rejected' && decision === 'approve')
      throw new StrataError('conflict', `${fn.name}@${fn.version} was rejected; deploy a new version instead`);
    const state: VersionState = decision === 'approve' ? 'active' : 'rejected';
    const at = new Date().toISOString();
    this.#db.db
      .prepare(
        `INSERT INTO governance_versions (name, version, digest, state, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name, version) DO UPDATE SET state = excluded.state, decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
      )
      .run(fn.name, fn.version, fn.digest, state, by, at);
    this.#states.delete(`${fn.name}@${fn.version}`);
    this.versionRow(fn.name, fn.version);
    return this.reviewAnswer(fn);
  }

  /**
   * A Master's dispatch, verified again here before the artifact is admitted (link.proto's
   * Artifact.signature): where this worker's signing.requireFor names the trust level, the
   * signature is checked against its own signing.keys; none given is fine when the version
   * already holds one verified here.
   * Throws signature_required / signature_invalid; returns a newly verified signature to record.
   */
  verifyDispatched(
    artifact: { digest: string; trust: Manifest['trust']; name?: string; version?: number },
    given: Signature | undefined,
  ): Signature | undefined {
    const row =
      artifact.name !== undefined && artifact.version !== undefined
        ? this.versionRow(artifact.name, artifact.version)
        : undefined;
    if (row?.signature && (!given || (given.keyId === row.signature.keyId && given.sig === row.signature.sig)))
      return undefined;
    // A trust level that needs no signature here runs signed or not (this worker may lack the key).
    if (!this.signer.required(artifact.trust)) return undefined;
    return this.signer.check(artifact.digest, artifact.trust, given);
  }

  /** Keep a dispatched version's verified signature (the pre hook then lets it run). */
  recordDispatched(fn: { name: string; version: number; digest: string }, signature: Signature): void {
    this.#db.db
      .prepare(
        `INSERT INTO governance_versions (name, version, digest, state, signature) VALUES (?, ?, ?, 'active', ?)
         ON CONFLICT (name, version) DO UPDATE SET signature = excluded.signature`,
      )
      .run(fn.name, fn.version, fn.digest, JSON.stringify(signature));
    this.#states.delete(`${fn.name}@${fn.version}`);
  }

  /** The pre hook: a pending or rejected version does not run; nor an unsigned one that needs a signature. */
  #gate(name: string, version: number) {
    const row = this.versionRow(name, version);
    if (row?.state === 'pending')
      return {
        reject: `${name}@${version} waits for review approval (POST /v1/functions/${name}/versions/${version}/approve)`,
        code: 'pending_review' as const,
      };
    if (row?.state === 'rejected')
      return { reject: `${name}@${version} was rejected in review`, code: 'review_rejected' as const };
    if (!row?.signature) {
      // A version that arrived without a deploy here (a Master's dispatch) carries no verified signature.
      let fn: FunctionVersion | undefined;
      try {
        fn = this.#registry.get(name, version);
      } catch {
        return undefined;
      }
      if (this.signer.required(fn.manifest.trust) && !row)
        return {
          reject: `${name}@${version} is ${fn.manifest.trust} and has no signature verified on this worker (signing.requireFor)`,
          code: 'signature_required' as const,
        };
    }
    return undefined;
  }
}
