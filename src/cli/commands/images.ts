/**
 * `strata images build [--json] [--force] [--kind js|script]`: builds the docker tier's runner
 * images into the local daemon from this host's own Node binary and libraries (no registry),
 * printing progress. A runner image whose content-hash tag is already there is skipped.
 */

import { dockerClient } from '../../../sandboxes/docker/client.ts';
import { type BuildEvent, buildRunnerImages } from '../../../sandboxes/docker/images.ts';
import { RUNNER_KINDS, type RunnerKind } from '../../../sandboxes/docker/rootfs-plan.ts';
import { loadConfig } from '../../config/index.ts';

const USAGE = `usage: strata images build [--json] [--force] [--kind js|script]

Builds the docker tier's runner images (strata-runner-js, strata-runner-script) into the local
Docker daemon from this host's Node 24 binary, bash, sh and python3 with their libraries. Tags
carry a content hash: an unchanged image is not rebuilt (--force rebuilds).`;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function describe(e: BuildEvent): string {
  switch (e.phase) {
    case 'planned':
      return `${e.image}: ${e.files} files, ${mib(e.bytes)}`;
    case 'skipped':
      return `${e.image}: already on the daemon, skipped`;
    case 'progress':
      return `${e.image}: sent ${mib(e.sent)} of ~${mib(e.bytes)} (${Math.min(100, Math.round((100 * e.sent) / Math.max(1, e.bytes)))}%)`;
    case 'built':
      return `${e.image}: built ${e.id.slice(0, 19)} in ${(e.ms / 1000).toFixed(1)} s`;
  }
}

export async function runImagesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build' || rest.includes('--help') || rest.includes('-h')) {
    (sub === undefined || sub === 'build' || sub === '--help' ? console.log : console.error)(USAGE);
    return sub === 'build' || sub === '--help' || sub === undefined ? 0 : 2;
  }
  const json = rest.includes('--json');
  const force = rest.includes('--force');
  const kindAt = rest.indexOf('--kind');
  let kinds: readonly RunnerKind[] = RUNNER_KINDS;
  if (kindAt >= 0) {
    const kind = rest[kindAt + 1] as RunnerKind;
    if (!RUNNER_KINDS.includes(kind)) {
      console.error(`--kind must be one of ${RUNNER_KINDS.join(', ')}`);
      return 2;
    }
    kinds = [kind];
  }
  const config = loadConfig({ env: process.env });
  const docker = dockerClient({ socketPath: config.docker.socketPath });
  try {
    await docker.ping();
  } catch (error) {
    const message = `docker daemon not reachable (${config.docker.socketPath || process.env.DOCKER_HOST || '/var/run/docker.sock'}): ${(error as Error).message}`;
    if (json) console.log(JSON.stringify({ ok: false, error: { code: 'tier_unavailable', message } }));
    else console.error(message);
    return 1;
  }
  try {
    const results = await buildRunnerImages(docker, {
      kinds,
      force,
      onEvent: (e) => (json ? console.error(JSON.stringify(e)) : console.log(describe(e))),
    });
    if (json) console.log(JSON.stringify({ ok: true, images: results }));
    return 0;
  } catch (error) {
    const message = (error as Error).message;
    if (json) console.log(JSON.stringify({ ok: false, error: { code: 'internal', message } }));
    else console.error(`building the runner images failed: ${message}`);
    return 1;
  }
}
