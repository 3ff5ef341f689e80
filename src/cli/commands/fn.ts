/** `strata fn ...`: manage and call functions on a running worker; one file per subcommand in ./fn/. */
import type { Command } from 'commander';
import { register as aliases } from './fn/aliases.ts';
import { register as del } from './fn/delete.ts';
import { register as deploy } from './fn/deploy.ts';
import { register as get } from './fn/get.ts';
import { register as invoke } from './fn/invoke.ts';
import { register as list } from './fn/list.ts';
import { register as promote } from './fn/promote.ts';
import { register as rollback } from './fn/rollback.ts';

const SUBCOMMANDS = [deploy, invoke, list, get, del, promote, rollback, aliases];

export function register(program: Command): void {
  const fn = program.command('fn').description('deploy, invoke, list and version functions on a running worker');
  for (const add of SUBCOMMANDS) add(fn);
}
