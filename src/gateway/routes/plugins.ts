/**
 * The plugin admin API (docs/plugins.md): list and inspect plugins, reload, disable, enable and
 * unload them at run time. Admin scope once keys exist (tenants issue).
 */
import { Hono } from 'hono';
import type { PluginHost } from '../../plugins/host.ts';

export interface PluginRoutesOptions {
  host: PluginHost;
}

export function pluginRoutes(options: PluginRoutesOptions): Hono {
  const { host } = options;
  const app = new Hono();
  app.get('/v1/plugins', (c) => c.json(host.list()));
  app.get('/v1/plugins/:name', (c) => c.json(host.get(c.req.param('name'))));
  app.post('/v1/plugins/:name/reload', async (c) => c.json(await host.reload(c.req.param('name'))));
  app.post('/v1/plugins/:name/disable', async (c) => c.json(await host.disable(c.req.param('name'))));
  app.post('/v1/plugins/:name/enable', async (c) => c.json(await host.enable(c.req.param('name'))));
  app.delete('/v1/plugins/:name', async (c) => c.json(await host.unload(c.req.param('name'))));
  return app;
}
