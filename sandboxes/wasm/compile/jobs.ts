/**
 * The deploy-time work of the wasm tier, as jobs that write their output into a cache directory
 * and return its meta: validate and transform a core module, transpile and check a component,
 * rewrite a JS function, cap an engine's memory. They run in the compile thread (compile-pool.ts),
 * never on the thread that serves requests; tests may call runJob directly.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GuestMeta } from '../host/protocol.ts';
import { rewriteModule } from '../js-engine/rewrite.ts';
import { transformCore } from '../transform.ts';

export type CompileJob =
  | { kind: 'module'; bytes: Uint8Array; capPages: number; fuel: boolean; entry?: string | undefined }
  | { kind: 'component'; bytes: Uint8Array; capPages: number; extraImports?: string[] }
  | { kind: 'js'; source: string }
  | { kind: 'engine-cap'; from: string; capPages: number };

export type ModuleMeta = Extract<GuestMeta, { kind: 'module' }>;
export interface JsMeta {
  kind: 'js-source';
  asyncBody: boolean;
}
export interface EngineVariantMeta {
  kind: 'engine';
  maxPages: number;
}

export type StepSink = (name: string, ms: number) => void;

/** Runs `job`, writing into `dir`; `step` hears each step's name and duration as it ends. */
export async function runJob(job: CompileJob, dir: string, step: StepSink): Promise<unknown> {
  let began = performance.now();
  const done = (name: string) => {
    const now = performance.now();
    step(name, now - began);
    began = now;
  };
  switch (job.kind) {
    case 'module': {
      const t = await transformCore(job.bytes, { capPages: job.capPages, fuel: job.fuel, entry: job.entry }, done);
      await writeFile(join(dir, 'module.wasm'), t.bytes);
      done('write');
      const meta: ModuleMeta = {
        kind: 'module',
        style: t.style,
        entry: t.entry,
        reactor: t.reactor,
        metered: t.metered,
        maxPages: t.maxPages,
      };
      return meta;
    }
    case 'component': {
      const { prepareComponent } = await import('../prepare-component.ts');
      done('load-jco');
      return prepareComponent(job.bytes, dir, job.capPages, {
        ...(job.extraImports ? { extraImports: job.extraImports } : {}),
        onStep: step,
      });
    }
    case 'js': {
      const { body, asyncBody } = rewriteModule(job.source);
      done('parse');
      await writeFile(join(dir, 'function.js'), body);
      done('write');
      return { kind: 'js-source', asyncBody } satisfies JsMeta;
    }
    case 'engine-cap': {
      const { capComponentDir } = await import('../prepare-component.ts');
      await capComponentDir(job.from, dir, job.capPages);
      done('engine-cap');
      return { kind: 'engine', maxPages: job.capPages } satisfies EngineVariantMeta;
    }
  }
}
