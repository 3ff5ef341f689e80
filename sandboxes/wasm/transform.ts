/**
 * The upload pipeline for core modules: validate, meter fuel when asked, cap every memory.
 * The output is what gets stored and run; its cache key is the upload's sha256 plus the
 * transform version and options, so a restart or another worker never redoes the work.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../../src/core/errors.ts';
import { capMemories } from './binary/memory-cap.ts';
import { type CallStyle, validateCoreModule } from './validate.ts';

/** Bump when the output of any transform changes, so cached artifacts are rebuilt. */
export const TRANSFORM_VERSION = 2;

export interface CoreTransformOptions {
  capPages: number;
  fuel: boolean;
  entry?: string | undefined;
  extraImports?: ReadonlySet<string>;
}

/** A transformed core module and how to call it (JSON-safe apart from the bytes). */
export interface TransformedCore {
  kind: 'module';
  bytes: Uint8Array;
  style: CallStyle;
  entry: string;
  reactor: boolean;
  metered: boolean;
  capPages: number;
  /** Effective maximum of the first memory (declared maximum or the cap, whichever is lower). */
  maxPages: number;
}

export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

export function transformKey(uploadSha: string, kind: string, options: Record<string, unknown>): string {
  return sha256(JSON.stringify({ v: TRANSFORM_VERSION, uploadSha, kind, ...options }));
}

/**
 * Validate, meter and cap `upload`. Slow for large modules (binaryen): the driver runs it in the
 * compile thread. `step` hears each step's name as it ends.
 */
export async function transformCore(
  upload: Uint8Array,
  options: CoreTransformOptions,
  step: (name: string) => void = () => {},
): Promise<TransformedCore> {
  const checked = validateCoreModule(upload, options);
  step('validate');
  let bytes = upload;
  // binaryen.js is large: load it only when a module asks for fuel.
  if (options.fuel) {
    const { meterFuel } = await import('./fuel.ts');
    step('load-binaryen');
    bytes = meterFuel(bytes);
    step('fuel');
  }
  try {
    bytes = capMemories(bytes, options.capPages);
  } catch (error) {
    throw new StrataError('invalid_code', (error as Error).message, { section: 'memory' });
  }
  step('memory-cap');
  if (!WebAssembly.validate(bytes)) throw new StrataError('internal', 'the transformed module does not validate');
  step('check');
  return {
    kind: 'module',
    bytes,
    style: checked.style,
    entry: checked.entry,
    reactor: checked.reactor,
    metered: options.fuel,
    capPages: options.capPages,
    maxPages: Math.min(checked.facts.memories[0]?.max ?? options.capPages, options.capPages),
  };
}
