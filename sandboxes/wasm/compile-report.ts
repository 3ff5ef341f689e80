/**
 * What the wasm tier says about a deploy's compile, for the deploy answer (the executor copies
 * `prepared.compile` into it) and for a CLI's progress line. Step names, in the order they run:
 *
 *   verify          reading and checking cached entries (sha256 of every file)
 *   wait            waiting for another process that builds the same entry
 *   queue           waiting for the compile thread (another deploy's job runs)
 *   validate, load-binaryen, fuel, memory-cap, check, write        core modules
 *   load-jco, transpile, check                                     components
 *   parse, write                                                   JS (rewrite of the module)
 *   engine-build, engine-transpile, engine-check                   JS engine, once per engine version
 *   engine-cap                                                     JS engine capped to a memory limit, once per limit
 *
 * A step that did not run is absent. `ms` is the whole prepare() wall time.
 */

import type { CompileReport } from '../../src/core/driver.ts';

export type { CompileReport };

export interface CompileProgressEvent {
  step: string;
  state: 'started' | 'finished';
  /** The step's duration, on `finished`. */
  ms?: number;
  /** One line for a person ("building the StarlingMonkey JS engine (once per engine version)"). */
  detail?: string;
}

export type CompileProgress = (event: CompileProgressEvent) => void;

export interface WasmPrepareOptions {
  /** Hears long steps start and every step finish, while prepare() runs. */
  onProgress?: CompileProgress;
}

/** Collects a prepare()'s steps into a CompileReport and forwards them as progress events. */
export class CompileTimer {
  readonly #started = performance.now();
  readonly #steps: Record<string, number> = {};
  readonly #listeners: CompileProgress[];
  built = false;

  constructor(listeners: CompileProgress[] = []) {
    this.#listeners = listeners;
  }

  listen(listener: CompileProgress): void {
    this.#listeners.push(listener);
  }

  started(step: string, detail?: string): void {
    this.#emit({ step, state: 'started', ...(detail ? { detail } : {}) });
  }

  step(step: string, ms: number): void {
    this.#steps[step] = (this.#steps[step] ?? 0) + ms;
    this.#emit({ step, state: 'finished', ms });
  }

  report(): CompileReport {
    const steps: Record<string, number> = {};
    for (const [name, ms] of Object.entries(this.#steps)) steps[name] = Math.round(ms * 10) / 10;
    return { cached: !this.built, ms: Math.round((performance.now() - this.#started) * 10) / 10, steps };
  }

  #emit(event: CompileProgressEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not fail the deploy.
      }
    }
  }
}
