import { z } from 'zod';
import { commaList } from '../units.ts';

/** Outbound HTTP from functions: the egress proxy of the process tier, the http runtime (docs/security.md). */
export const httpSection = z
  .object({
    /**
     * Operator allow-list: CIDRs and host names (optionally :port) whose otherwise forbidden
     * addresses (loopback, private, link-local, ...) a function with network permission may reach.
     */
    allow: commaList(z.string().min(1)).default([]),
  })
  .prefault({});
