/**
 * Every top-level command, one module each. A command module exports `register(program)` and
 * keeps its imports light (heavy parts are imported inside its action), so `strata --help` and
 * completion stay fast. Adding a command (keys, plugin, secrets, logs) = a file + a line here.
 */
import type { Command } from 'commander';
import { register as completion } from './completion.ts';
import { register as config } from './config.ts';
import { register as dev } from './dev.ts';
import { register as exec } from './exec.ts';
import { register as fn } from './fn.ts';
import { register as images } from './images.ts';
import { register as keys } from './keys.ts';
import { register as logs } from './logs.ts';
import { register as master } from './master.ts';
import { register as plugin } from './plugin.ts';
import { register as secrets } from './secrets.ts';
import { register as serve } from './serve.ts';
import { register as signing } from './signing.ts';
import { register as tenants } from './tenants.ts';

export const COMMANDS: readonly ((program: Command) => void)[] = [
  serve,
  master,
  dev,
  fn,
  exec,
  keys,
  tenants,
  logs,
  images,
  secrets,
  signing,
  plugin,
  config,
  completion,
];
