/** Sandbox tiers, from weakest to strongest isolation (DESIGN.md "Trust tiers"). */
/** `http` runs no user code: it makes the API call an http function describes, in the worker. */
export const TIERS = ['isolate', 'wasm', 'process', 'docker', 'http'] as const;
export type TierName = (typeof TIERS)[number];

export const TRUST_LEVELS = ['trusted', 'standard', 'untrusted'] as const;
export type Trust = (typeof TRUST_LEVELS)[number];

export const RUNTIMES = ['js', 'wasm', 'script', 'container', 'http'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** Isolation strength: isolate < wasm < process = docker; `http` runs no user code, so it meets every floor. */
export const TIER_STRENGTH: Record<TierName, number> = { isolate: 1, wasm: 2, process: 3, docker: 3, http: 3 };
