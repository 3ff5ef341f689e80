/**
 * Which disk-I/O limits a sandbox tier can really enforce on this host (pure): bandwidth
 * throttles need a block-I/O controller and a disk-backed scratch space (a tmpfs never issues
 * block requests, so blkio/io.max never apply to it); a proportional weight also needs a
 * scheduler that honours weights on the disk the I/O ends up on (BFQ, or io.cost on v2).
 * A tier refuses a function asking for an unsupported one with `reason`, never accepts it silently.
 */
import { SANDBOX_LIMITS } from '../core/limits.ts';

export interface Support {
  ok: boolean;
  reason?: string;
}

export interface IoSupportInput {
  mode: 'v1' | 'v2' | 'none';
  /** Controllers by common name ('io' = v1 blkio or v2 io). */
  controllers: readonly string[];
  /** The hierarchy has an I/O weight file (v1 blkio.weight / blkio.bfq.weight, v2 io.weight with io.cost or BFQ). */
  weightFile: boolean;
  /** Whether a disk-backed scratch space can be made, and why not. */
  scratch: Support;
  /** The disk behind the scratch images and its scheduler ("mq-deadline", "bfq", ...). */
  backingDisk?: string;
  backingScheduler?: string;
  /** v2: io.cost is configured at the root (io.cost.qos enabled). */
  ioCost?: boolean;
}

export interface IoSupport {
  /** ioReadBps / ioWriteBps */
  bandwidth: Support;
  /** ioWeight */
  weight: Support;
}

export function ioLimitSupport(input: IoSupportInput): IoSupport {
  const noController =
    input.mode === 'none'
      ? 'no cgroup hierarchy'
      : !input.controllers.includes('io')
        ? `the cgroup ${input.mode === 'v1' ? 'blkio' : 'io'} controller is not available`
        : undefined;
  const noScratch = input.scratch.ok
    ? undefined
    : `no disk-backed scratch space (${input.scratch.reason ?? 'unavailable'}): the only writable place is a tmpfs, where block-I/O throttles never apply`;
  const bandwidthReason = noController ?? noScratch;
  const bandwidth: Support = bandwidthReason
    ? { ok: false, reason: `ioReadBps/ioWriteBps cannot be enforced: ${bandwidthReason}` }
    : { ok: true };

  const disk = input.backingDisk ? `disk ${input.backingDisk}` : 'the disk behind the scratch space';
  const scheduler = input.backingScheduler ?? 'an unknown scheduler';
  const weighted = input.backingScheduler === 'bfq' || (input.mode === 'v2' && input.ioCost === true);
  const weightReason =
    bandwidthReason ??
    (!input.weightFile
      ? 'the kernel has no I/O weight file for this hierarchy (no BFQ or io.cost)'
      : !weighted
        ? `${disk} uses ${scheduler}, which ignores weights (needs BFQ${input.mode === 'v2' ? ' or io.cost' : ''})`
        : undefined);
  const weight: Support = weightReason
    ? { ok: false, reason: `ioWeight cannot be enforced: ${weightReason}` }
    : { ok: true };
  return { bandwidth, weight };
}

/** The sandbox limits a cgroup tier (process, docker) enforces: the I/O ones only where the controller applies them. */
export function enforcedSandboxLimits(io: IoSupport) {
  return SANDBOX_LIMITS.filter((l) => (l !== 'ioReadBps' && l !== 'ioWriteBps') || io.bandwidth.ok).filter(
    (l) => l !== 'ioWeight' || io.weight.ok,
  );
}
