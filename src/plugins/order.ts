/**
 * Load order as a pure function: each plugin's `strata` range against the host version, its
 * `requires` against the others' versions, dependencies first (topological order). A plugin in a
 * cycle, missing a dependency, needing a version out of range, or needing a plugin refused for
 * any of these is refused with an error naming them; the others still load.
 */
import semver from 'semver';

export interface OrderInput {
  name: string;
  version: string;
  requires: Record<string, string>;
  strata: string;
}

export interface OrderResult {
  /** Names in load order (dependencies before the plugins that need them). */
  order: string[];
  /** Name -> why it cannot load. */
  refused: Map<string, string>;
}

export function loadOrder(plugins: readonly OrderInput[], hostVersion: string): OrderResult {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const refused = new Map<string, string>();
  for (const p of plugins) {
    if (!semver.satisfies(hostVersion, p.strata, { includePrerelease: true }))
      refused.set(p.name, `needs strata ${p.strata}, this worker is ${hostVersion}`);
  }
  for (const p of plugins) {
    if (refused.has(p.name)) continue;
    const problems: string[] = [];
    for (const [dep, range] of Object.entries(p.requires)) {
      const other = byName.get(dep);
      if (!other) problems.push(`requires ${dep} ${range}, which is not installed`);
      else if (!semver.satisfies(other.version, range, { includePrerelease: true }))
        problems.push(`requires ${dep} ${range}, installed is ${other.version}`);
    }
    if (problems.length > 0) refused.set(p.name, problems.join('; '));
  }
  // Cycles: depth-first with colours; every plugin on a cycle is refused, naming the cycle.
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of Object.keys(byName.get(name)?.requires ?? {})) {
      if (!byName.has(dep)) continue;
      const s = state.get(dep);
      if (s === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep];
        for (const member of cycle.slice(0, -1))
          if (!refused.has(member)) refused.set(member, `dependency cycle: ${cycle.join(' -> ')}`);
      } else if (s === undefined) visit(dep);
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const p of [...plugins].sort((a, b) => a.name.localeCompare(b.name))) if (!state.has(p.name)) visit(p.name);
  // Refusal spreads to whatever needs a refused plugin, until nothing changes.
  let changed = true;
  while (changed) {
    changed = false;
    for (const p of plugins) {
      if (refused.has(p.name)) continue;
      const bad = Object.keys(p.requires).find((dep) => refused.has(dep));
      if (bad) {
        refused.set(p.name, `requires ${bad}, which cannot load (${refused.get(bad)})`);
        changed = true;
      }
    }
  }
  // Kahn's algorithm over what is left, names sorted so the order is stable.
  const left = plugins.filter((p) => !refused.has(p.name)).map((p) => p.name);
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < left.length) {
    const ready = left
      .filter((n) => !placed.has(n) && Object.keys(byName.get(n)?.requires ?? {}).every((d) => placed.has(d)))
      .sort();
    if (ready.length === 0) break;
    for (const n of ready) {
      order.push(n);
      placed.add(n);
    }
  }
  return { order, refused };
}

/**
 * `order` (dependencies first) cut into waves: a wave holds every plugin whose dependencies among
 * `order` are in earlier waves, so a wave's plugins can load at once. A dependency not in `order`
 * does not hold a plugin back (the caller refuses it when it is not loaded).
 */
export function loadWaves(order: readonly string[], requiresOf: (name: string) => string[]): string[][] {
  const waves: string[][] = [];
  const settled = new Set<string>();
  const among = new Set(order);
  let left = [...order];
  while (left.length > 0) {
    const ready = left.filter((n) => requiresOf(n).every((d) => settled.has(d) || !among.has(d)));
    const wave = ready.length > 0 ? ready : left.slice(0, 1);
    waves.push(wave);
    for (const n of wave) settled.add(n);
    left = left.filter((n) => !wave.includes(n));
  }
  return waves;
}
