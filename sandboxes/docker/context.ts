/** What the run paths share: the daemon client, host facts, settings, the pool, live names, scratch disks and egress. */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { NetworkGrant } from '../../src/net/allow-list.ts';
import type { ScratchDisks } from '../../src/resources/scratch-disk.ts';
import type { ContainerEgress } from './egress.ts';
import type { HostFacts, SpecDefaults } from './hardening.ts';
import type { WarmPool } from './pool.ts';

export interface TierContext {
  docker: Docker;
  workerId: string;
  facts: HostFacts;
  defaults: SpecDefaults;
  pool: WarmPool;
  /** Names of cold containers in flight (registered before create, so the reaper spares them). */
  coldNames: Set<string>;
  /** Running invocation id -> container id (pause/resume). */
  running: Map<string, string>;
  newName(role: 'warm' | 'cold'): string;
  startTimeoutMs: number;
  /** Scratch disks for /tmp, when the host can make them (else containers get a tmpfs). */
  scratch: ScratchDisks | undefined;
  /** A proxy for one container of a function granted network (not listening yet). */
  newEgress(grant: NetworkGrant): ContainerEgress;
}

/** Container names carry the worker id, so `docker ps` shows whose they are. */
export function nameFactory(workerId: string): (role: 'warm' | 'cold') => string {
  const safe = workerId.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 40) || 'worker';
  return (role) => `strata-${safe}-${role}-${randomBytes(6).toString('hex')}`;
}

/** Whether an error means the daemon itself is unreachable (not a problem with one container). */
export function isDaemonDown(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(e.code ?? ''))
    return true;
  return /connect (ECONNREFUSED|ENOENT)|socket hang up|daemon is not running/i.test(e.message ?? '');
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
