/**
 * The secret store over HTTP: `POST /v1/secrets {name, value}` (201 new, 200 replaced),
 * `GET /v1/secrets` (names and times only, never values), `DELETE /v1/secrets/:name`.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { StrataError } from '../../core/errors.ts';
import type { SecretStore } from '../../governance/secrets.ts';
import { readJson } from '../read-body.ts';

/** The POST body (also the OpenAPI document's). */
export const secretBody = z.object({ name: z.string().min(1).max(128), value: z.string() }).strict();

export function secretRoutes(options: { secrets: SecretStore }): Hono {
  const { secrets } = options;
  const app = new Hono();
  app.post('/v1/secrets', async (c) => {
    const parsed = secretBody.safeParse(await readJson(c));
    if (!parsed.success)
      throw new StrataError('invalid_request', 'send {"name": "...", "value": "..."} (both strings, nothing else)');
    const existed = secrets.has(parsed.data.name);
    const info = secrets.set(parsed.data.name, parsed.data.value);
    return c.json(info, existed ? 200 : 201);
  });
  app.get('/v1/secrets', (c) => c.json({ secrets: secrets.list() }));
  app.delete('/v1/secrets/:name', (c) => {
    const name = c.req.param('name');
    if (!secrets.delete(name)) throw new StrataError('not_found', `no secret named "${name}"`);
    return c.json({ name, deleted: true });
  });
  return app;
}
