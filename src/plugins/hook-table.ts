/**
 * The hook lists the executor reads per invocation, rebuilt whenever a plugin version comes or
 * goes (cheap to read, costly only on a change), in load order so a dependency's hooks run before
 * its dependents'. A lease holds the lists' generations until the invocation's record is final,
 * so a reload never changes an invocation in flight.
 */
import type { HookLease, MonitorHook, PostHook, PreHook } from '../executor/phases.ts';
import { loadOrder } from './order.ts';
import type { Generation, Slot } from './slot.ts';

interface Lists {
  pre: PreHook[];
  post: PostHook[];
  monitor: MonitorHook[];
  gens: Generation[];
}

export class HookTable {
  #lists: Lists = { pre: [], post: [], monitor: [], gens: [] };
  /** Hooks of the host itself, after the plugins' post hooks while any monitor is loaded. */
  readonly #monitorSeal: PostHook;

  constructor(monitorSeal: PostHook) {
    this.#monitorSeal = monitorSeal;
  }

  get pre(): readonly PreHook[] {
    return this.#lists.pre;
  }
  get post(): readonly PostHook[] {
    return this.#lists.post;
  }
  get monitor(): readonly MonitorHook[] {
    return this.#lists.monitor;
  }
  /** The serving generations, dependencies first. */
  get generations(): readonly Generation[] {
    return this.#lists.gens;
  }

  lease(): HookLease {
    const { pre, post, monitor, gens } = this.#lists;
    for (const g of gens) g.leases++;
    return {
      pre,
      post,
      monitor,
      release: () => {
        for (const g of gens) {
          g.leases--;
          if (g.leases === 0) g.onLeasesGone?.();
        }
      },
    };
  }

  rebuild(slots: ReadonlyMap<string, Slot>): void {
    const serving = [...slots.values()].filter((s) => s.current);
    const order = loadOrder(
      serving.map((s) => ({
        name: s.name,
        version: s.manifest?.version ?? '0.0.0',
        requires: s.manifest?.requires ?? {},
        strata: '*',
      })),
      '0.0.0',
    ).order;
    const names = [...order, ...serving.map((s) => s.name).filter((n) => !order.includes(n))];
    const gens: Generation[] = [];
    for (const name of names) {
      const g = slots.get(name)?.current;
      if (g && !gens.includes(g)) gens.push(g);
    }
    const monitor = gens.flatMap((g) => (g.monitor ? [g.monitor] : []));
    const post = gens.flatMap((g) => (g.post ? [g.post] : []));
    this.#lists = {
      pre: gens.flatMap((g) => (g.pre ? [g.pre] : [])),
      // Monitor errors of start/log/sample events reach the record here, as it is sealed.
      post: monitor.length > 0 ? [...post, this.#monitorSeal] : post,
      monitor,
      gens,
    };
  }
}
