/** The docker daemon requirement, shared by the docker tier suites and the ship (image) suites. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Requirement } from './requirements.ts';

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
