/**
 * GET /openapi.json (the document of a route table), GET /docs (swagger-ui rendering it) and
 * GET /docs/assets/:file, every asset served from here (swagger-ui-dist, no CDN). Shared by the
 * worker and the Master; `Hono` without our env so either app can mount it.
 */
import { Hono } from 'hono';
import { StrataError } from '../../core/errors.ts';
import { type ApiRoute, type DocumentInfo, openApiDocument } from '../openapi/document.ts';
import { staticFile } from '../static-assets.ts';

export function referenceRoutes(routes: readonly ApiRoute[], info: DocumentInfo): Hono {
  const app = new Hono();
  let document: string | undefined;
  app.get('/openapi.json', (c) => {
    document ??= JSON.stringify(openApiDocument(routes, info));
    return c.body(document, 200, { 'Content-Type': 'application/json' });
  });
  app.get('/docs', async (c) => {
    const page = await staticFile('docs.html');
    if (!page) throw new StrataError('not_found', 'the API reference page is not built (node ui/build.ts)');
    return c.body(new Uint8Array(page.body), 200, { 'Content-Type': page.type });
  });
  app.get('/docs/assets/:file', async (c) => {
    const file = await staticFile(`swagger/${c.req.param('file')}`);
    if (!file) throw new StrataError('not_found', `no asset ${c.req.param('file')}`);
    return c.body(new Uint8Array(file.body), 200, {
      'Content-Type': file.type,
      'Cache-Control': 'public, max-age=3600',
    });
  });
  return app;
}

/** GET /ui and /ui/assets/:file: the dashboard, told which server it is on (`worker` or `master`). */
export function dashboardRoutes(kind: 'worker' | 'master'): Hono {
  const app = new Hono();
  app.get('/ui', async (c) => {
    const page = await staticFile('index.html');
    if (!page) throw new StrataError('not_found', 'the dashboard is not built (node ui/build.ts)');
    const html = page.body.toString('utf8').replace('<body>', `<body data-server="${kind}">`);
    return c.html(html);
  });
  app.get('/ui/assets/:file', async (c) => {
    const file = await staticFile(c.req.param('file'));
    if (!file || c.req.param('file').endsWith('.html'))
      throw new StrataError('not_found', `no asset ${c.req.param('file')}`);
    return c.body(new Uint8Array(file.body), 200, { 'Content-Type': file.type, 'Cache-Control': 'no-cache' });
  });
  return app;
}
