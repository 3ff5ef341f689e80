/** POST /v1/functions/:name/invoke: run a function with the body as input; `?async=1` answers 202 at once. */
import { Hono } from 'hono';
import type { Executor } from '../../executor/executor.ts';
import { sealedJson } from '../../executor/record-seal.ts';
import type { Registry } from '../../registry/registry.ts';
import type { GatewayEnv } from '../env.ts';
import { readJsonText } from '../read-body.ts';
import { parseVersion } from './functions.ts';

export interface InvokeRoutesOptions {
  registry: Registry;
  executor: Executor;
}

const truthy = (value: string | undefined) => value === '1' || value === 'true' || value === '';

export function invokeRoutes(options: InvokeRoutesOptions): Hono<GatewayEnv> {
  const { registry, executor } = options;
  const app = new Hono<GatewayEnv>();
  app.post('/v1/functions/:name/invoke', async (c) => {
    const version = c.req.query('version');
    const fn = registry.get(c.req.param('name'), version === undefined ? undefined : parseVersion(version));
    const input = await readJsonText(c);
    const isAsync = truthy(c.req.query('async'));
    const submission = executor.submit({
      artifact: registry.artifact(fn),
      input: input.value,
      inputJson: input.text,
      source: 'http',
      durable: isAsync,
    });
    if (isAsync) {
      c.header('Location', `/v1/executions/${submission.id}`);
      return c.json({ executionId: submission.id }, 202);
    }
    // The record's text as it was sealed and stored: no second serialisation, and never one that throws.
    const record = await submission.done;
    return c.body(sealedJson(record) ?? JSON.stringify(record), 200, { 'Content-Type': 'application/json' });
  });
  return app;
}
