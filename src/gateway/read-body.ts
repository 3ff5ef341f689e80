import type { Context } from 'hono';
import { StrataError } from '../core/errors.ts';

/** The request body as JSON; an empty body is `null`. Invalid JSON is a 400 that says where. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StrataError('invalid_request', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Like readJson, and also returns the text (so it need not be serialized again). */
export async function readJsonText(c: Context): Promise<{ value: unknown; text: string }> {
  const text = await c.req.text();
  if (text.trim() === '') return { value: null, text: 'null' };
  try {
    return { value: JSON.parse(text), text };
  } catch (err) {
    throw new StrataError('invalid_request', `the body is not valid JSON: ${(err as Error).message}`);
  }
}
