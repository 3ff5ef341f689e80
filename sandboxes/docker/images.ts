/**
 * Builds the runner images into the local daemon with `docker import` of a streamed root file
 * system (see rootfs-plan.ts): no registry, no Dockerfile, no pull. An image whose content-hash
 * tag is already on the daemon is skipped.
 */
import type Docker from 'dockerode';
import { planRunnerImages, RUNNER_KINDS, type RunnerKind, type RunnerPlan } from './rootfs-plan.ts';
import { tarStream } from './tar-writer.ts';

export type BuildEvent =
  | { phase: 'planned'; kind: RunnerKind; image: string; files: number; bytes: number }
  | { phase: 'skipped'; kind: RunnerKind; image: string }
  | { phase: 'progress'; kind: RunnerKind; image: string; sent: number; bytes: number }
  | { phase: 'built'; kind: RunnerKind; image: string; id: string; ms: number };

export interface BuildResult {
  kind: RunnerKind;
  image: string;
  status: 'built' | 'present';
  id?: string;
  ms: number;
}

export async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

async function importPlan(docker: Docker, plan: RunnerPlan, onEvent: (e: BuildEvent) => void): Promise<string> {
  const [repo, tag] = plan.image.split(':') as [string, string];
  let sent = 0;
  let lastReport = 0;
  const tar = tarStream(plan.entries, (n) => {
    sent += n;
    if (sent - lastReport >= 8 * 1024 * 1024) {
      lastReport = sent;
      onEvent({ phase: 'progress', kind: plan.kind, image: plan.image, sent, bytes: plan.bytes });
    }
  });
  const response = (await docker.importImage(tar, {
    repo,
    tag,
    changes: plan.changes,
  } as unknown as object)) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of response) text += chunk.toString();
  let id = '';
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const message = JSON.parse(line) as { status?: string; error?: string };
    if (message.error) throw new Error(`docker import of ${plan.image} failed: ${message.error}`);
    if (message.status?.startsWith('sha256:')) id = message.status;
  }
  onEvent({ phase: 'progress', kind: plan.kind, image: plan.image, sent, bytes: plan.bytes });
  return id;
}

/** Build (or find) every runner image; `force` rebuilds even when the tag is present. */
export async function buildRunnerImages(
  docker: Docker,
  options: { kinds?: readonly RunnerKind[]; force?: boolean; onEvent?: (e: BuildEvent) => void } = {},
): Promise<BuildResult[]> {
  const onEvent = options.onEvent ?? (() => {});
  const results: BuildResult[] = [];
  for (const plan of planRunnerImages(options.kinds ?? RUNNER_KINDS)) {
    const started = Date.now();
    onEvent({ phase: 'planned', kind: plan.kind, image: plan.image, files: plan.entries.length, bytes: plan.bytes });
    if (!options.force && (await imageExists(docker, plan.image))) {
      onEvent({ phase: 'skipped', kind: plan.kind, image: plan.image });
      results.push({ kind: plan.kind, image: plan.image, status: 'present', ms: Date.now() - started });
      continue;
    }
    const id = await importPlan(docker, plan, onEvent);
    await pruneOldRunnerImages(docker, plan.kind, plan.image);
    const ms = Date.now() - started;
    onEvent({ phase: 'built', kind: plan.kind, image: plan.image, id, ms });
    results.push({ kind: plan.kind, image: plan.image, status: 'built', id, ms });
  }
  return results;
}

/** Earlier builds of a kind kept besides the current one: other checkouts sharing the daemon may use them. */
const KEEP_EARLIER_BUILDS = 2;

/**
 * Remove earlier builds of a runner kind beyond the newest few (ones still used by a container
 * stay: the daemon refuses). Several checkouts of Strata may share one daemon with different
 * runner sources, so the newest earlier builds survive instead of being rebuilt back and forth.
 */
export async function pruneOldRunnerImages(docker: Docker, kind: RunnerKind, keep: string): Promise<number> {
  let removed = 0;
  const images = await docker.listImages({ filters: { label: [`strata.runner=${kind}`] } });
  const earlier = images
    .filter((image) => !(image.RepoTags ?? []).includes(keep))
    .sort((a, b) => b.Created - a.Created)
    .slice(KEEP_EARLIER_BUILDS);
  for (const image of earlier) {
    try {
      await docker.getImage(image.Id).remove({ force: false });
      removed++;
    } catch {
      // In use by a container, or already gone: the next build tries again.
    }
  }
  return removed;
}

/** The image names the current plan expects, without building anything. */
export function expectedRunnerImages(): Record<RunnerKind, string> {
  const names = {} as Record<RunnerKind, string>;
  for (const plan of planRunnerImages()) names[plan.kind] = plan.image;
  return names;
}
