/** Docker helpers of the ship suites: the daemon requirement and the offline image build. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Requirement } from '../support/requirements.ts';

export const REPO = join(import.meta.dirname, '..', '..');

/** "docker daemon reachable": a socket that answers `docker info`. */
export function dockerRequirement(): Requirement {
  const socket = process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') ?? '/var/run/docker.sock';
  if (!process.env.DOCKER_HOST && !existsSync(socket))
    return { ok: false, reason: `docker daemon not reachable (no ${socket})` };
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 10_000 });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `docker daemon not reachable: ${(error as Error).message.split('\n')[0]}` };
  }
}

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
