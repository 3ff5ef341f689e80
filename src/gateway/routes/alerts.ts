/** GET /v1/alerts: recent alerts, newest first (plugins, tiers, anomalies); `?limit=` bounds them. */
import { Hono } from 'hono';
import { StrataError } from '../../core/errors.ts';
import type { AlertCenter } from '../../plugins/alerts.ts';

export function alertRoutes(options: { alerts: AlertCenter }): Hono {
  const app = new Hono();
  app.get('/v1/alerts', (c) => {
    const raw = c.req.query('limit');
    const limit = raw === undefined ? undefined : Number(raw);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
      throw new StrataError('invalid_request', 'limit must be a whole number of at least 1');
    return c.json(options.alerts.list(limit));
  });
  return app;
}
