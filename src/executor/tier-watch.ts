/**
 * Tier health changes as events. A driver that pushes its changes (onHealthChange) is listened
 * to; one that does not yet is polled at executor.healthPoll; and every health read placement
 * does anyway (each invocation) is diffed too, so a change is seen as soon as anything looks.
 * Tiers come and go at run time (executor plugins): watch() and unwatch() follow them.
 */
import type { SandboxDriver, TierHealth } from '../core/driver.ts';
import type { TierName } from '../core/tiers.ts';

export class TierWatch {
  readonly #last = new Map<TierName, { available: boolean; reason: string | undefined }>();
  readonly #onChange: (tier: TierName, health: TierHealth) => void;
  readonly #unsubscribe = new Map<TierName, () => void>();
  readonly #polled = new Map<TierName, SandboxDriver>();
  readonly #pollMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    drivers: Iterable<SandboxDriver>,
    options: { pollMs: number; onChange: (tier: TierName, health: TierHealth) => void },
  ) {
    this.#onChange = options.onChange;
    this.#pollMs = options.pollMs;
    for (const driver of drivers) this.watch(driver);
  }

  watch(driver: SandboxDriver): void {
    if (driver.onHealthChange) {
      this.#unsubscribe.set(
        driver.tier,
        driver.onHealthChange((health) => this.note(driver.tier, health)),
      );
      return;
    }
    this.#polled.set(driver.tier, driver);
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        for (const d of this.#polled.values()) this.note(d.tier, d.health());
      }, this.#pollMs);
      this.#timer.unref();
    }
  }

  unwatch(tier: TierName): void {
    this.#unsubscribe.get(tier)?.();
    this.#unsubscribe.delete(tier);
    this.#polled.delete(tier);
    this.#last.delete(tier);
  }

  /** Compare a health reading with the last one and announce a change (availability or reason). */
  note(tier: TierName, health: TierHealth): void {
    const last = this.#last.get(tier);
    if (last && last.available === health.available && last.reason === health.reason) return;
    this.#last.set(tier, { available: health.available, reason: health.reason });
    // The first reading is the starting point, not a change.
    if (last) this.#onChange(tier, health);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const unsubscribe of this.#unsubscribe.values()) unsubscribe();
    this.#unsubscribe.clear();
  }
}
