/**
 * Aliases and promotion: `latest` is what an invoke without a version runs; other aliases
 * (`prod`) are invoked as `name@prod`.
 *   GET    /v1/functions/:name/aliases           -> {name, aliases: [{alias, version, updatedAt}]}
 *   GET    /v1/functions/:name/aliases/:alias    -> {name, alias, version, updatedAt}
 *   PUT    /v1/functions/:name/aliases/:alias    {version} -> {name, alias, version, previous?, updatedAt}
 *   DELETE /v1/functions/:name/aliases/:alias    -> {name, alias, version, deleted: true}
 *   POST   /v1/functions/:name/rollback          {alias?} -> the alias moved to the newest older version
 */
import { Hono } from 'hono';
import { StrataError } from '../../core/errors.ts';
import { LATEST } from '../../registry/aliases.ts';
import { aliasesOf, aliasOf, deleteAlias, rollback, setAlias } from '../../registry/promote.ts';
import type { Registry } from '../../registry/registry.ts';
import { qualify } from '../../tenants/namespace.ts';
import { type GatewayEnv, tenantOfContext } from '../env.ts';
import { readJson } from '../read-body.ts';

const field = (body: unknown, key: string): unknown =>
  body !== null && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)[key]
    : undefined;

export function aliasRoutes(options: { registry: Registry }): Hono<GatewayEnv> {
  const { registry } = options;
  const app = new Hono<GatewayEnv>();

  app.get('/v1/functions/:name/aliases', (c) => {
    const name = c.req.param('name');
    const key = qualify(tenantOfContext(c), name);
    return c.json({ name, aliases: aliasesOf(registry, key) });
  });

  app.get('/v1/functions/:name/aliases/:alias', (c) => {
    const name = c.req.param('name');
    const key = qualify(tenantOfContext(c), name);
    return c.json({ name, ...aliasOf(registry, key, c.req.param('alias')) });
  });

  app.put('/v1/functions/:name/aliases/:alias', async (c) => {
    const name = c.req.param('name');
    const key = qualify(tenantOfContext(c), name);
    const version = field(await readJson(c), 'version');
    if (!Number.isInteger(version) || (version as number) < 1) {
      throw new StrataError('invalid_request', 'send {"version": N} with N a version of the function');
    }
    const moved = setAlias(registry, key, c.req.param('alias'), version as number);
    c.var.log.info(
      { function: name, alias: moved.alias, version: moved.version, previous: moved.previous },
      'alias set',
    );
    return c.json({ name, ...moved });
  });

  app.delete('/v1/functions/:name/aliases/:alias', (c) => {
    const name = c.req.param('name');
    const key = qualify(tenantOfContext(c), name);
    const removed = deleteAlias(registry, key, c.req.param('alias'));
    return c.json({ name, ...removed, deleted: true });
  });

  app.post('/v1/functions/:name/rollback', async (c) => {
    const name = c.req.param('name');
    const key = qualify(tenantOfContext(c), name);
    const alias = field(await readJson(c), 'alias') ?? c.req.query('alias') ?? LATEST;
    if (typeof alias !== 'string') throw new StrataError('invalid_request', '"alias" must be a string');
    const moved = rollback(registry, key, alias);
    c.var.log.info({ function: name, alias, version: moved.version, previous: moved.previous }, 'rolled back');
    return c.json({ name, ...moved });
  });

  return app;
}
