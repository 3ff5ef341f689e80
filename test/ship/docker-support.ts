/** Docker helpers of the ship suites: the daemon requirement and the offline image build. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

export { dockerRequirement } from '../support/docker.ts';

/**
 * Build the worker image offline (deploy/image/build.sh: local base, cached layers) and return its
 * tag. STRATA_IMAGE names an image built already (CI builds it once before the tests).
 */
export function workerImage(): string {
  if (process.env.STRATA_IMAGE) return process.env.STRATA_IMAGE;
  const out = execFileSync('bash', [join(REPO, 'deploy', 'image', 'build.sh'), 'strata:test'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30 * 60_000,
  });
  return out.trim().split('\n').at(-1)!;
}

export function docker(args: string[], options: { input?: string; timeout?: number } = {}): string {
  return execFileSync('docker', args, {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: options.timeout ?? 120_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}
