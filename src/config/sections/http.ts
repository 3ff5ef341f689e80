import { z } from 'zod';
import { parseAllowEntry } from '../../net/allow-list.ts';
import { boolean, commaList, size } from '../units.ts';

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
    /** Largest response body an http function may receive; a larger one ends it `killed`, code limit_exceeded. */
    maxResponse: size().default(8 * 1024 ** 2),
    /** Follow redirects (each hop checked by the SSRF guard again); off: a 3xx ends the call `upstream_error`. */
    followRedirects: boolean().default(false),
  })
  .prefault({});
