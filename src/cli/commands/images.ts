/**
 * `strata images build [--json] [--force] [--kind js|script]`: builds the docker tier's runner
 * images into the local daemon from this host's own Node binary and libraries (no registry),
 * printing progress. A runner image whose content-hash tag is already there is skipped.
 */
import { type Command, Option } from 'commander';
import type { BuildEvent } from '../../../sandboxes/docker/images.ts';
import { loadConfig } from '../../config/index.ts';
import { action } from '../command-kit.ts';

export function register(program: Command): void {
  const images = program.command('images').description("the Docker tier's runner images");
  images
    .command('build')
    .description(
      "build the runner images (strata-runner-js, strata-runner-script) into the local Docker daemon from this host's Node 24, bash, sh and python3; an unchanged image is skipped",
    )
    .option('--json', 'progress as JSON lines on stderr, the result as JSON on stdout')
    .option('--force', 'rebuild even when the content-hash tag is there')
    .addOption(new Option('--kind <kind>', 'build only one image').choices(['js', 'script']))
    .action(action((flags: { json?: boolean; force?: boolean; kind?: string }) => runImagesBuild(flags)));
}

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

export async function runImagesBuild(flags: { json?: boolean; force?: boolean; kind?: string }): Promise<number> {
  // Heavy (dockerode, the root fs planner): loaded only when building.
  const [{ dockerClient }, { buildRunnerImages }, { RUNNER_KINDS }] = await Promise.all([
    import('../../../sandboxes/docker/client.ts'),
    import('../../../sandboxes/docker/images.ts'),
    import('../../../sandboxes/docker/rootfs-plan.ts'),
  ]);
  const json = flags.json === true;
  const force = flags.force === true;
  const kinds = flags.kind ? RUNNER_KINDS.filter((k) => k === flags.kind) : RUNNER_KINDS;
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
