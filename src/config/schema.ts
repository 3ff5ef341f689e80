import { z } from 'zod';
import { TIER_STRENGTH } from '../core/tiers.ts';
import { alertsSection } from './sections/alerts.ts';
import { callbacksSection } from './sections/callbacks.ts';
import { dockerSection } from './sections/docker.ts';
import { executorSection } from './sections/executor.ts';
import { httpSection } from './sections/http.ts';
import { isolateSection } from './sections/isolate.ts';
import { limitsSection } from './sections/limits.ts';
import { linkSection } from './sections/link.ts';
import { masterSection } from './sections/master.ts';
import { pluginsSection } from './sections/plugins.ts';
import { policySection } from './sections/policy.ts';
import { processSection } from './sections/process.ts';
import { resourcesSection } from './sections/resources.ts';
import { reviewSection } from './sections/review.ts';
import { secretsSection } from './sections/secrets.ts';
import { signingSection } from './sections/signing.ts';
import { tenantsSection } from './sections/tenants.ts';
import { wasmSection } from './sections/wasm.ts';
import { commaList, integer, secret, size } from './units.ts';

/**
 * Every setting Strata has. Environment variables are derived from the path:
 * `executor.concurrency` <- STRATA_EXECUTOR_CONCURRENCY (see load.ts for the few aliases).
 */
export const configSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: integer().min(0).max(65535).default(8080),
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** `auto`: readable lines when stdout is a terminal, JSON lines otherwise. */
    logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
    /** Largest request body; larger ones get 413 without being buffered. */
    bodyLimit: size().default(6 * 1024 ** 2),
    /** Bearer tokens accepted by the gateway; empty means no authentication (loopback use). */
    apiTokens: secret(commaList(z.string().min(16, 'an API token must be at least 16 characters'))).default([]),
    limits: limitsSection,
    executor: executorSection,
    policy: policySection,
    isolate: isolateSection,
    wasm: wasmSection,
    process: processSection,
    docker: dockerSection,
    resources: resourcesSection,
    link: linkSection,
    master: masterSection,
    plugins: pluginsSection,
    alerts: alertsSection,
    callbacks: callbacksSection,
    http: httpSection,
    secrets: secretsSection,
    review: reviewSection,
    signing: signingSection,
    tenants: tenantsSection,
  })
  .strict()
  .superRefine((config, ctx) => {
    // A table entry below its trust's floor would run code in a weaker tier than it needs.
    for (const [runtime, byTrust] of Object.entries(config.policy.table)) {
      for (const [trust, tiers] of Object.entries(byTrust ?? {})) {
        const floor = config.policy.floor[trust as keyof typeof config.policy.floor];
        for (const tier of tiers ?? []) {
          if (TIER_STRENGTH[tier] < TIER_STRENGTH[floor]) {
            ctx.addIssue({
              code: 'custom',
              path: ['policy', 'table', runtime, trust],
              message: `tier "${tier}" is weaker than the floor "${floor}" for ${trust} code; use ${floor} or a stronger tier`,
            });
          }
        }
      }
    }
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
