import { z } from 'zod';
import { boolean, duration, integer } from '../units.ts';

/** One plugin named by the config file rather than found in plugins.dir. */
const entry = z
  .object({
    /** The plugin's folder (holding plugin.json); relative paths are taken from the working directory. */
    path: z.string().min(1),
    /** false keeps it listed as `disabled` without loading its code. */
    enabled: boolean().default(true),
    /** Overrides of the plugin.json `config` defaults, handed to the plugin as ctx.config. */
    config: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** The plugin host (src/plugins, docs/plugins.md). */
export const pluginsSection = z
  .object({
    /** Folder scanned for plugin folders (each with a plugin.json); empty means `<dataDir>/plugins`. */
    dir: z.string().default(''),
    /** Plugins named by path, with their config and an enabled flag (also used for plugins in dir, matched by folder). */
    entries: z.array(entry).default([]),
    /** How often the folder and the config file are looked at for changes (hot plug). */
    watch: duration().default(500),
    /** Budget of loading one plugin: reading plugin.json, starting its thread, importing main and calling the factory. */
    loadBudget: duration().default(5000),
    /** Budget of a plugin's init(). */
    initBudget: duration().default(5000),
    /** Budget of a plugin's unload(); an unload also waits this long at most for its in-flight hook calls. */
    unloadBudget: duration().default(5000),
    /** Budget of one monitor onEvent call (pre and post use executor.hookBudget). */
    monitorBudget: duration().default(1000),
    /** Circuit breaker: this many hook failures within `breakerWindow` disable the plugin and raise an alert. */
    breakerFailures: integer().positive().default(5),
    breakerWindow: duration().default(60_000),
  })
  .prefault({});
