/**
 * Tier health changes as events. A driver that pushes its changes (onHealthChange) is listened
 * to; one that does not yet is polled at executor.healthPoll; and every health read placement
 * does anyway (each invocation) is diffed too, so a change is seen as soon as anything looks.
 */
import type { SandboxDriver, TierHealth } from '../core/driver.ts';
import type { TierName } from '../core/tiers.ts';

export class TierWatch {
  readonly #last = new Map<TierName, { available: boolean; reason: string | undefined }>();
  readonly #onChange: (tier: TierName, health: TierHealth) => void;
  readonly #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    drivers: Iterable<SandboxDriver>,
    options: { pollMs: number; onChange: (tier: TierName, health: TierHealth) => void },
  ) {
    this.#onChange = options.onChange;
    const polled: SandboxDriver[] = [];
    for (const driver of drivers) {
      if (driver.onHealthChange) {
        this.#unsubscribe.push(driver.onHealthChange((health) => this.note(driver.tier, health)));
      } else polled.push(driver);
    }
    if (polled.length > 0) {
      this.#timer = setInterval(() => {
        for (const driver of polled) this.note(driver.tier, driver.health());
      }, options.pollMs);
      this.#timer.unref();
    }
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
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}
