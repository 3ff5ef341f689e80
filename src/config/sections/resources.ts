import { z } from 'zod';
import { boolean, commaList, duration, integer, size } from '../units.ts';

const list = () => commaList(z.string().regex(/^\d+:\d+$/, 'a block device is "major:minor", e.g. "8:0"')).default([]);

/** cgroups, sampling, history, anomaly baseline and the node capacity model (docs/resources.md). */
export const resourcesSection = z
  .object({
    /** Root of the cgroup filesystem (tests point it at a fake directory). */
    cgroupRoot: z.string().min(1).default('/sys/fs/cgroup'),
    /** Strata's own parent group under each hierarchy; every group Strata makes lives in it. */
    cgroupParent: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'a relative cgroup path like "strata"')
      .default('strata'),
    /** Block devices for bandwidth limits ("8:0,253:0"); empty = every disk in /sys/block. */
    ioDevices: list(),
    /** How often running groups and node totals are sampled. */
    sampleInterval: duration().default(1000),
    /** Samples older than this are pruned. */
    sampleRetention: duration().default(24 * 3_600_000),
    /** At most this many samples are kept per execution (the newest win). */
    samplesPerExecution: integer().positive().default(3600),
    /** CPU cores kept for the worker itself (not allocatable to functions). */
    reserveCpu: z.coerce.number().min(0).default(0.5),
    /** Memory kept for the worker itself. */
    reserveMemory: size().default(512 * 1024 ** 2),
    /** How far requested CPU may exceed allocatable CPU (2 = twice). */
    overcommitCpu: z.coerce.number().min(1).default(4),
    /** How far requested hard memory may exceed allocatable memory. */
    overcommitMemory: z.coerce.number().min(1).default(1.5),
    /** Reclaim (stop lowest-priority invocations) when available memory falls below this. */
    reclaimBelow: size().default(256 * 1024 ** 2),
    /** Raise/lower running groups' CPU quota with node load. */
    dynamicCpu: boolean().default(true),
    /** Node CPU use (0..1) under which quotas are raised, and over which they go back down. */
    idleBelow: z.coerce.number().min(0).max(1).default(0.5),
    busyAbove: z.coerce.number().min(0).max(1).default(0.9),
    /** EWMA weight of the newest invocation in the usage baseline. */
    anomalyAlpha: z.coerce.number().gt(0).max(1).default(0.2),
    /** Deviations from the baseline mean that count as an anomaly. */
    anomalyThreshold: z.coerce.number().positive().default(4),
    /** Invocations seen before the baseline flags anything. */
    anomalyMinSamples: integer().positive().default(10),
  })
  .prefault({});
