/**
 * Removes containers carrying this worker's label that nothing live owns (Nomad's
 * reconcile_dangling): at start-up (everything is an orphan then), periodically, and at
 * shutdown. Only this worker's label is matched, so workers sharing a daemon leave each other be.
 */
import type Docker from 'dockerode';
import { LABEL_WORKER } from './hardening.ts';

export class Reaper {
  readonly #docker: Docker;
  readonly #workerId: string;
  readonly #owned: () => Set<string>;
  reaped = 0;
  lastSweepAt: number | undefined;

  constructor(docker: Docker, workerId: string, owned: () => Set<string>) {
    this.#docker = docker;
    this.#workerId = workerId;
    this.#owned = owned;
  }

  /** This worker's containers on the daemon (names without the leading slash). */
  async list(): Promise<{ id: string; name: string; state: string }[]> {
    const list = await this.#docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_WORKER}=${this.#workerId}`] },
    });
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State }));
  }

  /** Remove every labelled container not owned right now; returns how many went. */
  async sweep(): Promise<number> {
    const owned = this.#owned();
    let removed = 0;
    for (const c of await this.list()) {
      if (owned.has(c.name) || owned.has(c.id)) continue;
      try {
        await this.#docker.getContainer(c.id).remove({ force: true });
        removed++;
      } catch (error) {
        const code = (error as { statusCode?: number }).statusCode;
        if (code !== 404 && code !== 409) throw error;
      }
    }
    this.reaped += removed;
    this.lastSweepAt = Date.now();
    return removed;
  }
}
