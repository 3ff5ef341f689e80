import { z } from 'zod';
import { duration, integer } from '../units.ts';

/** Alerts (plugin failed or disabled, tier unavailable or back, anomaly flagged): GET /v1/alerts and a webhook. */
export const alertsSection = z
  .object({
    /** URL that receives each alert as a JSON POST; empty sends none. */
    webhook: z.union([z.literal(''), z.url()]).default(''),
    /** How long one webhook POST may take. */
    webhookTimeout: duration().default(5000),
    /** Recent alerts kept for GET /v1/alerts (oldest dropped first). */
    keep: integer().positive().default(500),
  })
  .prefault({});
