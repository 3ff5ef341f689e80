import { z } from 'zod';
import { parseAllowEntry } from '../../net/allow-list.ts';
import { commaList } from '../units.ts';

const allowEntry = z.string().superRefine((text, ctx) => {
  const parsed = parseAllowEntry(text);
  if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
});

/** Outbound HTTP from functions: the egress proxy of the process tier, the http runtime (docs/security.md). */
export const httpSection = z
  .object({
    /**
     * Operator allow-list: CIDRs, addresses and host names (optionally :port, or `*.domain`) whose
     * otherwise forbidden addresses (loopback, private, link-local, ...) a function with network
     * permission may reach. Never the worker's own API.
     */
    allow: commaList(allowEntry).default([]),
  })
  .prefault({});
