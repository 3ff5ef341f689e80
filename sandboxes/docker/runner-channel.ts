/**
 * The host's reading end of a warm container's protocol: bytes from the container's stdout in,
 * validated runner messages out. Every frame is size-bounded before it is buffered and checked
 * against a strict zod schema before anything looks at it; the first bad frame turns the channel
 * into `violated` (all later bytes are ignored), so a broken or hostile runner can only get its
 * own container destroyed. push() never throws.
 */
import { z } from 'zod';
import { FrameDecoder } from './framing.ts';
import type { RunnerMessage } from './runner/protocol.ts';

const MIB = 1024 * 1024;
const id = z.string().min(1).max(128);
const count = z.number().int().nonnegative();

/** What a runner may send (runner/protocol.ts RunnerMessage), nothing more. */
export const runnerMessageSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('ready'), pid: z.number().int().positive(), node: z.string().max(64) }),
  z.strictObject({ t: z.literal('pong'), id, rssBytes: z.number().nonnegative() }),
  z.strictObject({
    t: z.literal('log'),
    id,
    stream: z.enum(['stdout', 'stderr']),
    data: z.string().max(MIB),
  }),
  z.discriminatedUnion('ok', [
    z.strictObject({
      t: z.literal('result'),
      id,
      ok: z.literal(true),
      json: z.string().optional(),
      text: z.string().optional(),
      late: count.optional(),
    }),
    z.strictObject({
      t: z.literal('result'),
      id,
      ok: z.literal(false),
      code: z.enum([
        'function_error',
        'result_too_large',
        'result_not_serializable',
        'protocol_violation',
        'sandbox_crashed',
      ]),
      message: z.string().max(64 * 1024),
      exitCode: z.number().int().optional(),
      signal: z.string().max(32).optional(),
      late: count.optional(),
    }),
  ]),
]);

// The schema and the protocol type must describe the same messages.
type Parsed = z.output<typeof runnerMessageSchema>;
const _sameShape: [Parsed extends RunnerMessage ? true : never, RunnerMessage extends Parsed ? true : never] = [
  true,
  true,
];
void _sameShape;

/** Frames big enough for a result of `resultBytes` of JSON, escaped inside a JSON string (\u00xx is 6 bytes). */
export const frameLimitFor = (resultBytes: number): number => 6 * resultBytes + MIB;

export type ChannelRead = { messages: RunnerMessage[]; violation?: string };

export class RunnerChannel {
  readonly #decoder: FrameDecoder;
  #violation: string | undefined;

  constructor(maxFrameBytes: number) {
    this.#decoder = new FrameDecoder(maxFrameBytes);
  }

  /** Why the channel broke, once it has. */
  get violation(): string | undefined {
    return this.#violation;
  }

  /** The frame cap for what follows (set per invocation from its result limit). */
  set maxFrameBytes(bytes: number) {
    this.#decoder.maxFrameBytes = bytes;
  }

  /** Decode and validate; a chunk with a bad frame yields no message at all, only the violation. */
  push(chunk: Buffer): ChannelRead {
    if (this.#violation) return { messages: [] };
    let values: unknown[];
    try {
      values = this.#decoder.push(chunk);
    } catch (error) {
      return this.#break(`a malformed frame (${error instanceof Error ? error.message : String(error)})`);
    }
    const messages: RunnerMessage[] = [];
    for (const value of values) {
      const parsed = runnerMessageSchema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
        return this.#break(`a frame that fails the schema${where}: ${issue?.message ?? 'invalid'}`);
      }
      messages.push(parsed.data);
    }
    return { messages };
  }

  /** Mark the channel broken for a reason found by the caller (a message out of turn). */
  break(reason: string): void {
    this.#violation ??= reason;
  }

  #break(reason: string): ChannelRead {
    this.#violation = reason;
    return { messages: [], violation: reason };
  }
}
