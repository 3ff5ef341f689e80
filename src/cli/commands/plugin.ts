/** `strata plugin ls|show|reload|disable|enable|unload`: the plugin admin API (docs/plugins.md). */
import type { Command } from 'commander';
import { refPath } from '../client.ts';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../command-kit.ts';
import { printTable } from '../print.ts';

interface PluginView {
  name: string;
  version: string | null;
  kinds: string[];
  state: string;
  health: { status: string; recentFailures: number; lastError?: string };
  requires: Record<string, string>;
  loadedAt: string | null;
  path: string;
  error?: string;
  tier?: string;
}

const notFound = (name: string) => () => `no plugin named ${name} — \`strata plugin ls\` lists them`;

function show(p: PluginView): void {
  const line = (k: string, v: string) => console.log(`${k.padEnd(10)} ${v}`);
  line('name', p.name);
  line('version', p.version ?? '-');
  line('kinds', p.kinds.join(', ') || '-');
  line('state', p.state);
  line('health', `${p.health.status} (${p.health.recentFailures} recent failures)`);
  if (p.health.lastError) line('last error', p.health.lastError);
  if (p.error) line('error', p.error);
  const requires = Object.entries(p.requires).map(([n, r]) => `${n} ${r}`);
  line('requires', requires.join(', ') || '-');
  if (p.tier) line('tier', p.tier);
  line('loaded at', p.loadedAt ?? '-');
  line('path', p.path);
}

export function register(program: Command): void {
  const plugin = program
    .command('plugin')
    .alias('plugins')
    .description('list, inspect, reload, disable, enable and unload plugins');
  clientCommand(plugin, 'ls', 'list the plugins with their state and health')
    .alias('list')
    .action(
      action(async (flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<PluginView[]>('GET', '/v1/plugins');
        print(flags, body, () =>
          body.length === 0
            ? console.log(
                'no plugins — drop a plugin folder into plugins.dir (default <dataDir>/plugins); see docs/plugins.md',
              )
            : printTable(
                body.map((p) => ({ ...p, kinds: p.kinds.join(','), health: p.health.status, error: p.error ?? '' })),
                ['name', 'version', 'kinds', 'state', 'health', 'loadedAt', 'error'],
              ),
        );
      }),
    );
  clientCommand(plugin, 'show', 'one plugin in detail')
    .argument('<name>', 'the plugin')
    .action(
      action(async (name: string, flags: ClientFlags) => {
        const { body } = await clientOf(flags).request<PluginView>('GET', `/v1/plugins/${refPath(name)}`, {
          notFound: notFound(name),
        });
        print(flags, body, () => show(body));
      }),
    );
  for (const [verb, method, suffix, description] of [
    ['reload', 'POST', '/reload', 'load the plugin again from its folder (a new version swaps in atomically)'],
    ['disable', 'POST', '/disable', 'stop calling the plugin (it stays listed as disabled)'],
    ['enable', 'POST', '/enable', 'load a disabled or unloaded plugin again'],
    ['unload', 'DELETE', '', 'unload the plugin (refused while another loaded plugin requires it)'],
  ] as const) {
    clientCommand(plugin, verb, description)
      .argument('<name>', 'the plugin')
      .action(
        action(async (name: string, flags: ClientFlags) => {
          const { body } = await clientOf(flags).request<PluginView>(method, `/v1/plugins/${refPath(name)}${suffix}`, {
            notFound: notFound(name),
          });
          print(flags, body, () =>
            console.log(
              `${name}: ${body.state}${body.version ? ` (${body.version})` : ''}${body.error ? ` — ${body.error}` : ''}`,
            ),
          );
          return body.state === 'failed' ? 1 : 0;
        }),
      );
  }
}
