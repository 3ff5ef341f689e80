/**
 * Hot plug: syncs the host when the plugin folder or the config file's entries changed (a folder
 * added, changed or removed; an entry edited). Two ways in, one comparison: fs.watch on the
 * plugin folder wakes a look at once (debounced, so a folder being written is seen once it is
 * complete), and polling every plugins.watch catches what fs.watch misses (the config file, some
 * filesystems, an event lost). Either way the fingerprint decides, so a missed or doubled event
 * cannot leave the host stale or make it reload twice.
 */
import { existsSync, type FSWatcher, watch } from 'node:fs';
import type { Logger } from 'pino';
import type { PluginHost } from './host.ts';

/** How long after the last file event the folder is looked at (writes of one plugin come in bursts). */
const SETTLE_MS = 50;

export class PluginWatcher {
  readonly #host: PluginHost;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #fsWatch: FSWatcher | undefined;
  #last = '';
  #busy = false;
  #again = false;

  constructor(host: PluginHost, options: { intervalMs: number; logger: Logger }) {
    this.#host = host;
    this.#logger = options.logger;
    this.#last = host.fingerprint();
    this.#timer = setInterval(() => void this.#tick(), options.intervalMs);
    this.#timer.unref();
    this.#watchFolder();
  }

  #watchFolder(): void {
    if (this.#fsWatch || !existsSync(this.#host.dir)) return;
    try {
      this.#fsWatch = watch(this.#host.dir, { recursive: true, persistent: false }, () => this.#soon());
      this.#fsWatch.on('error', () => this.#unwatchFolder());
    } catch {
      // No fs.watch here (or the folder went away): polling alone keeps the promise.
      this.#fsWatch = undefined;
    }
  }

  #unwatchFolder(): void {
    this.#fsWatch?.close();
    this.#fsWatch = undefined;
  }

  #soon(): void {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => void this.#tick(), SETTLE_MS);
    this.#settle.unref();
  }

  async #tick(): Promise<void> {
    if (!this.#timer) return;
    this.#watchFolder();
    if (this.#busy) {
      // A change seen while a sync runs is looked at again right after it.
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        const now = this.#host.fingerprint();
        if (now === this.#last) continue;
        this.#last = now;
        this.#logger.info('plugin folder or config changed; syncing plugins');
        await this.#host.sync();
      } while (this.#again);
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'plugin watch failed');
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#settle);
    this.#timer = undefined;
    this.#unwatchFolder();
  }
}
