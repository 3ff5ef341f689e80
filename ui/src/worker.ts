/** The worker's overview: tier health and the functions with their versions, tiers and review state. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { Executions } from './executions.ts';

interface Health {
  version?: string;
  executor?: { running: number; queued: number; concurrency: number; freeSlots: number };
  tiers?: Record<string, { available: boolean; reason?: string }>;
}

interface Fn {
  name: string;
  version: number;
  runtime: string;
  trust: string;
  tier: string | null;
  createdAt: string;
  review?: { verdict?: string };
  reviewState?: string;
}

export function useFetch<T>(path: string, everyMs = 0): { data?: T; error?: string } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  useEffect(() => {
    let stop = false;
    const load = () =>
      api<T>(path).then(
        (data) => !stop && setState({ data }),
        (e: Error) => !stop && setState({ error: e.message }),
      );
    load();
    const timer = everyMs ? setInterval(load, everyMs) : undefined;
    return () => {
      stop = true;
      if (timer) clearInterval(timer);
    };
  }, [path]);
  return state;
}

function Tiers() {
  const { data, error } = useFetch<Health>('/healthz', 5000);
  if (error) return h('p', { class: 'error' }, error);
  if (!data) return h('p', null, 'loading…');
  return h(
    'section',
    null,
    h('h2', null, 'Tiers'),
    data.executor
      ? h(
          'p',
          { class: 'muted' },
          `running ${data.executor.running} · queued ${data.executor.queued} · free slots ${data.executor.freeSlots}/${data.executor.concurrency} · v${data.version ?? '?'}`,
        )
      : null,
    h(
      'ul',
      { class: 'tiers' },
      ...Object.entries(data.tiers ?? {}).map(([name, t]) =>
        h(
          'li',
          { class: t.available ? 'ok' : 'down', 'data-tier': name },
          h('b', null, name),
          ' ',
          t.available ? 'available' : `unavailable: ${t.reason ?? ''}`,
        ),
      ),
    ),
  );
}

function Functions() {
  const { data, error } = useFetch<{ functions: Fn[] }>('/v1/functions', 5000);
  if (error) return h('p', { class: 'error' }, error);
  if (!data) return h('p', null, 'loading…');
  return h(
    'section',
    null,
    h('h2', null, 'Functions'),
    data.functions.length === 0
      ? h('p', { class: 'muted' }, 'none deployed yet: strata fn deploy udf-examples/js/hello.js')
      : h(
          'table',
          { class: 'functions' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ...['name', 'version', 'runtime', 'trust', 'tier', 'review', 'deployed'].map((c) => h('th', null, c)),
            ),
          ),
          h(
            'tbody',
            null,
            ...data.functions.map((fn) =>
              h(
                'tr',
                { 'data-function': fn.name },
                h('td', null, h('a', { href: `#/executions?function=${encodeURIComponent(fn.name)}` }, fn.name)),
                h('td', null, String(fn.version)),
                h('td', null, fn.runtime),
                h('td', null, fn.trust),
                h('td', null, fn.tier ?? '—'),
                h('td', null, fn.review?.verdict ?? fn.reviewState ?? '—'),
                h('td', null, new Date(fn.createdAt).toLocaleString()),
              ),
            ),
          ),
        ),
  );
}

interface Plugin {
  name: string;
  version: string;
  kinds: string[];
  state: string;
  health?: unknown;
}

interface Alert {
  id: string;
  at: string;
  severity: string;
  source: string;
  message: string;
}

/** Plugins and alerts, shown once the worker serves them (GET /v1/plugins, /v1/alerts); hidden on 404. */
function Optional<T>(props: { path: string; title: string; render: (data: T) => preact.ComponentChild }) {
  const { data } = useFetch<T>(props.path, 5000);
  if (data === undefined) return null;
  return h('section', { 'data-section': props.title.toLowerCase() }, h('h2', null, props.title), props.render(data));
}

const plugins = (list: Plugin[]) =>
  list.length === 0
    ? h('p', { class: 'muted' }, 'none loaded')
    : h(
        'table',
        null,
        h('thead', null, h('tr', null, ...['plugin', 'version', 'kinds', 'state'].map((c) => h('th', null, c)))),
        h(
          'tbody',
          null,
          ...list.map((p) =>
            h(
              'tr',
              null,
              h('td', null, p.name),
              h('td', null, p.version),
              h('td', null, p.kinds.join(', ')),
              h('td', null, p.state),
            ),
          ),
        ),
      );

const alerts = (list: Alert[]) =>
  list.length === 0
    ? h('p', { class: 'muted' }, 'no alerts')
    : h(
        'ul',
        null,
        ...list
          .slice(0, 20)
          .map((a) => h('li', null, `${new Date(a.at).toLocaleString()} [${a.severity}] ${a.source}: ${a.message}`)),
      );

export function WorkerHome() {
  return h(
    'div',
    null,
    h(Tiers, null),
    h(Functions, null),
    h(Executions, { compact: true }),
    h(Optional<Plugin[]>, { path: '/v1/plugins', title: 'Plugins', render: plugins }),
    h(Optional<Alert[]>, { path: '/v1/alerts', title: 'Alerts', render: alerts }),
  );
}
