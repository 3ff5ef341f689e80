/**
 * Reading a request body. Whatever a client sends — malformed JSON, a truncated or garbled
 * multipart body, a body that ends early — is a 400 with the error shape here, never an
 * exception that would become a 500. Size limits (413) come from the body-limit middleware and
 * pass through.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { BodyData } from 'hono/utils/body';
import { isStrataError, StrataError } from '../core/errors.ts';

/** The body as text; a stream that fails (cut off, not UTF-8 framing) is the client's error. */
async function readText(c: Context): Promise<string> {
  try {
    return await c.req.text();
  } catch (err) {
    throw clientError(err, unreadableBody().message);
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StrataError('invalid_request', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The request body as JSON; an empty body is `null`. Invalid JSON is a 400 that says where. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await readText(c);
  return text.trim() === '' ? null : parse(text);
}

/** Like readJson, and also returns the text (so it need not be serialized again). */
export async function readJsonText(c: Context): Promise<{ value: unknown; text: string }> {
  return jsonTextOf(await readText(c));
}

/** A body's text as the input JSON (the depth guard, then the parse); the invoke fast path shares it. */
export function jsonTextOf(text: string): { value: unknown; text: string } {
  if (text.trim() === '') return { value: null, text: 'null' };
  // Refused before parsing: every later pass over a 100,000-deep input (parse, copy, seal) would
  // hold the event loop, and no function needs one.
  if (nestsDeeper(text, MAX_INPUT_DEPTH)) {
    throw new StrataError('invalid_request', `the input nests deeper than ${MAX_INPUT_DEPTH} levels; flatten it`);
  }
  return { value: parse(text), text };
}

/** How deep an invocation input may nest (arrays and objects), like limits.resultDepth for results. */
export const MAX_INPUT_DEPTH = 1000;

/** Whether JSON text nests deeper than `max`: one pass over the characters, strings skipped. */
export function nestsDeeper(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, honouring backslash escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** A multipart/form-data body; a truncated or garbled one (no boundary, cut parts) is a 400. */
export async function readForm(c: Context): Promise<BodyData> {
  try {
    return await c.req.parseBody();
  } catch (err) {
    throw clientError(
      err,
      'the multipart body could not be parsed (truncated, or its boundary does not match the Content-Type); send it again',
    );
  }
}

/** A body that could not be read (cut off, aborted): the client's error, a 400. */
export function unreadableBody(): StrataError {
  return new StrataError('invalid_request', 'the request body could not be read (cut off or malformed); send it again');
}

/** Errors we raised on purpose (413 from the body limit) pass; anything else is a bad body. */
function clientError(err: unknown, message: string): Error {
  if (isStrataError(err) || err instanceof HTTPException) return err;
  return new StrataError('invalid_request', message);
}
