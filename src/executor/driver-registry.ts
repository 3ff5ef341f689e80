/**
 * The one registry of sandbox tiers: the four built-in tiers are registered here at start-up and
 * executor plugins add theirs (and take them away) at run time, so a plugin tier is placed by its
 * declared capabilities, limited, accounted and health-checked exactly like a built-in one.
 */
import type { SandboxDriver } from '../core/driver.ts';
import { StrataError } from '../core/errors.ts';
import { TIERS, type TierName } from '../core/tiers.ts';

export type DriverChange = { type: 'add' | 'remove'; driver: SandboxDriver };

export class DriverRegistry {
  readonly #drivers = new Map<TierName, SandboxDriver>();
  readonly #listeners = new Set<(change: DriverChange) => void>();

  constructor(drivers: Iterable<SandboxDriver> = []) {
    for (const driver of drivers) this.#drivers.set(driver.tier, driver);
  }

  /** Register a tier; a name already taken (a built-in tier's or another plugin's) is refused. */
  add(driver: SandboxDriver): void {
    if (this.#drivers.has(driver.tier))
      throw new StrataError('conflict', `a tier named "${driver.tier}" is already registered; pick another tier name`);
    this.#drivers.set(driver.tier, driver);
    for (const listener of this.#listeners) listener({ type: 'add', driver });
  }

  /** Take a tier away: no new invocation is placed on it; the ones placed keep their driver. */
  remove(tier: TierName): SandboxDriver | undefined {
    const driver = this.#drivers.get(tier);
    if (!driver) return undefined;
    this.#drivers.delete(tier);
    for (const listener of this.#listeners) listener({ type: 'remove', driver });
    return driver;
  }

  get(tier: TierName): SandboxDriver | undefined {
    return this.#drivers.get(tier);
  }

  values(): IterableIterator<SandboxDriver> {
    return this.#drivers.values();
  }

  entries(): IterableIterator<[TierName, SandboxDriver]> {
    return this.#drivers.entries();
  }

  /** Tiers not built in (executor plugins') that declare they run `runtime`, in registration order. */
  extraTiersFor(runtime: string): SandboxDriver[] {
    const found: SandboxDriver[] = [];
    for (const driver of this.#drivers.values())
      if (!isBuiltinTier(driver.tier) && (driver.capabilities.runtimes as readonly string[]).includes(runtime))
        found.push(driver);
    return found;
  }

  onChange(listener: (change: DriverChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

export const isBuiltinTier = (tier: string): boolean => (TIERS as readonly string[]).includes(tier);
