/**
 * A scriptable SandboxDriver for executor tests. The input says what a run does:
 *   { ms?, result?, log?, hang?, throw?, deep?, fail?, outcome? }
 * `hang` runs until the signal fires; every run reacts to the signal like a real tier.
 */
import { createHash } from 'node:crypto';
import {
  type Artifact,
  abortError,
  type DriverCapabilities,
  type Invocation,
  type RunOptions,
  type SandboxDriver,
  type TierHealth,
} from '../../src/core/driver.ts';
import { StrataError } from '../../src/core/errors.ts';
import { type RunOutcome, usageOf } from '../../src/core/execution.ts';
import { type ManifestInput, manifestSchema } from '../../src/core/manifest.ts';
import type { TierName } from '../../src/core/tiers.ts';

export interface Script {
  ms?: number;
  result?: unknown;
  log?: string;
  hang?: boolean;
  /** Reject with a plain Error (a driver bug). */
  throw?: string;
  /** Return a result nested this many arrays deep (what a tier parses from `[[[...]]]` on stdout). */
  deep?: number;
  /** End `failed` / function_error with this message repeated `failRepeat` times. */
  fail?: string;
  failRepeat?: number;
  /** Fields merged into the outcome (start, death, status, error, ...). */
  outcome?: Partial<RunOutcome>;
}

/** `[[[...]]]`, `depth` arrays deep, built without recursion (as JSON.parse would). */
export function nested(depth: number): unknown {
  let value: unknown[] = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

export class FakeDriver implements SandboxDriver<Artifact> {
  readonly tier: TierName;
  readonly capabilities: DriverCapabilities;
  health_: TierHealth = { available: true };
  /** Invocation ids in the order their runs started. */
  readonly started: string[] = [];
  /** Abort reasons seen by runs, by invocation id. */
  readonly aborted = new Map<string, unknown>();
  readonly prepared: string[] = [];
  /** Every invocation run() got, in order. */
  readonly invocations: Invocation[] = [];
  running = 0;
  maxRunning = 0;
  prepareError: Error | undefined;

  constructor(tier: TierName = 'isolate', capabilities: Partial<DriverCapabilities> = {}) {
    this.tier = tier;
    this.capabilities = {
      runtimes: ['js'],
      measures: ['wallMs'],
      pause: false,
      enforces: ['timeoutMs'],
      network: 'none',
      ownProcesses: false,
      ...capabilities,
    };
  }

  async start(): Promise<void> {}

  health(): TierHealth {
    return this.health_;
  }

  async prepare(artifact: Artifact): Promise<Artifact> {
    if (this.prepareError) throw this.prepareError;
    this.prepared.push(artifact.digest);
    return artifact;
  }

  async run(_prepared: Artifact, invocation: Invocation, options: RunOptions): Promise<RunOutcome> {
    const script = (invocation.input ?? {}) as Script;
    this.invocations.push(invocation);
    this.started.push(invocation.id);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const started = Date.now();
    try {
      if (script.throw) throw new Error(script.throw);
      if (script.log) options.logs.write(script.log);
      const finished = await new Promise<boolean>((resolve) => {
        const timer = script.hang ? undefined : setTimeout(() => resolve(true), script.ms ?? 0);
        const onAbort = () => {
          clearTimeout(timer);
          resolve(false);
        };
        if (options.signal.aborted) onAbort();
        else options.signal.addEventListener('abort', onAbort, { once: true });
      });
      const usage = usageOf({ wallMs: Date.now() - started });
      if (!finished) {
        this.aborted.set(invocation.id, options.signal.reason);
        const error = abortError(options.signal);
        return { status: error.code === 'timeout' ? 'timeout' : 'killed', error, usage };
      }
      if (script.fail) {
        const message = script.fail.repeat(script.failRepeat ?? 1);
        return { status: 'failed', error: { code: 'function_error', message }, usage, ...script.outcome };
      }
      const result = script.deep !== undefined ? nested(script.deep) : (script.result ?? null);
      return { status: 'succeeded', result, usage, ...script.outcome };
    } finally {
      this.running--;
    }
  }

  async dispose(): Promise<void> {}
}

let seq = 0;

export function artifactOf(manifest: Partial<ManifestInput> = {}) {
  const m = manifestSchema.parse({
    name: `fn-${++seq}`,
    runtime: 'js',
    trust: 'trusted',
    source: 'export default () => 1',
    ...manifest,
  });
  const code = new TextEncoder().encode(m.source ?? '');
  const digest = createHash('sha256').update(JSON.stringify(m)).digest('hex');
  return { digest, name: m.name, version: 1, manifest: m, code };
}

export const isStrata = (err: unknown, code: string) => err instanceof StrataError && err.code === code;
