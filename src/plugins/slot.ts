/**
 * What the plugin host keeps per plugin (a slot: name, folder, state, failures) and per loaded
 * version of it (a generation: its thread, hooks and tier), and how a slot is shown by the API.
 */
import type { MonitorHook, PostHook, PreHook } from '../executor/phases.ts';
import type { Discovered } from './discovery.ts';
import type { PluginManifest } from './manifest.ts';
import type { PluginState } from './metrics.ts';
import type { PluginDriver } from './plugin-driver.ts';
import type { Ready } from './protocol.ts';
import type { PluginThread } from './thread.ts';

export interface PluginHealth {
  status: 'ok' | 'degraded' | 'down';
  /** Hook failures inside the breaker window. */
  recentFailures: number;
  lastError?: string;
}

export interface PluginInfo {
  name: string;
  version: string | null;
  kinds: string[];
  state: PluginState;
  health: PluginHealth;
  requires: Record<string, string>;
  loadedAt: string | null;
  path: string;
  source: 'dir' | 'config';
  error?: string;
  /** The tier an executor plugin added. */
  tier?: string;
  description?: string;
}

/** One loaded instance of a plugin version: its thread, hooks and tier. */
export interface Generation {
  id: number;
  manifest: PluginManifest;
  thread: PluginThread;
  ready: Ready;
  pre?: PreHook;
  post?: PostHook;
  monitor?: MonitorHook;
  driver?: PluginDriver;
  /** Invocations holding this generation's hooks (leases). */
  leases: number;
  retired: boolean;
  onLeasesGone?: () => void;
}

export interface Slot {
  name: string;
  folder: string;
  source: 'dir' | 'config';
  /** Config entry overrides (plugins.entries[].config). */
  overrides: Record<string, unknown>;
  /** What the folder and config look like now (the watcher compares it). */
  fingerprint: string;
  manifest?: PluginManifest;
  state: PluginState;
  error?: string;
  loadedAt?: string;
  /** Turned off through the API (disable, DELETE) or by the breaker: stays so until enable/reload. */
  held?: 'disabled' | 'unloaded';
  /** Turned off by the config entry (enabled: false). */
  configDisabled: boolean;
  current?: Generation;
  failures: number[];
  lastError?: string;
  /** Serialises lifecycle steps of one plugin. */
  busy: Promise<void>;
}

/** The API's view of a slot; `windowMs` is the breaker window recent failures are counted in. */
export function infoOf(s: Slot, windowMs: number): PluginInfo {
  const now = Date.now();
  const recent = s.failures.filter((t) => now - t < windowMs).length;
  const status: PluginHealth['status'] = s.state !== 'loaded' ? 'down' : recent > 0 ? 'degraded' : 'ok';
  const m = s.current?.manifest ?? s.manifest;
  return {
    name: s.name,
    version: m?.version ?? null,
    kinds: m?.kinds ?? [],
    state: s.state,
    health: { status, recentFailures: recent, ...(s.lastError ? { lastError: s.lastError } : {}) },
    requires: m?.requires ?? {},
    loadedAt: s.state === 'loaded' ? (s.loadedAt ?? null) : null,
    path: s.folder,
    source: s.source,
    ...(s.error && s.state !== 'loaded' ? { error: s.error } : {}),
    ...(s.current?.driver ? { tier: s.current.driver.tier } : {}),
    ...(m?.description ? { description: m.description } : {}),
  };
}

/** A plugin.json kind its object does not implement. */
export function kindProblems(manifest: PluginManifest, ready: Ready): string | undefined {
  const missing: string[] = [];
  if (manifest.kinds.includes('pre') && !ready.has.pre) missing.push('kind "pre" needs pre(invocation)');
  if (manifest.kinds.includes('post') && !ready.has.post) missing.push('kind "post" needs post(record)');
  if (manifest.kinds.includes('monitor') && !ready.has.onEvent) missing.push('kind "monitor" needs onEvent(event)');
  if (manifest.kinds.includes('executor') && !ready.driver)
    missing.push('kind "executor" needs driver(ctx) and runtimes');
  return missing.length > 0 ? `the plugin object does not match plugin.json: ${missing.join('; ')}` : undefined;
}

/** The slot of `name`, made when new, brought up to date with what discovery found there. */
export function upsertSlot(
  slots: Map<string, Slot>,
  name: string,
  d: Discovered,
  fingerprint: string,
): { slot: Slot; changed: boolean } {
  let slot = slots.get(name);
  const changed = !slot || slot.fingerprint !== fingerprint || slot.folder !== d.folder;
  if (!slot) {
    slot = {
      name,
      folder: d.folder,
      source: d.source,
      overrides: d.overrides,
      fingerprint,
      state: 'unloaded',
      configDisabled: !d.enabled,
      failures: [],
      busy: Promise.resolve(),
    };
    slots.set(name, slot);
  }
  slot.folder = d.folder;
  slot.source = d.source;
  slot.overrides = d.overrides;
  slot.fingerprint = fingerprint;
  slot.configDisabled = !d.enabled;
  return { slot, changed };
}
