/**
 * Hot plug: looks at the plugin folder and the config file's entries every plugins.watch and
 * syncs the host when anything changed (a folder added, changed or removed; an entry edited).
 * Polling, not fs.watch: it sees edits inside plugin folders, on every filesystem, and a missed
 * event cannot leave the host stale. The default 500 ms keeps a change within the 2 s promise.
 */
import type { Logger } from 'pino';
import type { PluginHost } from './host.ts';

export class PluginWatcher {
  readonly #host: PluginHost;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #last = '';
  #busy = false;

  constructor(host: PluginHost, options: { intervalMs: number; logger: Logger }) {
    this.#host = host;
    this.#logger = options.logger;
    this.#last = host.fingerprint();
    this.#timer = setInterval(() => void this.#tick(), options.intervalMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const now = this.#host.fingerprint();
      if (now === this.#last) return;
      this.#last = now;
      this.#logger.info('plugin folder or config changed; syncing plugins');
      await this.#host.sync();
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'plugin watch failed');
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
