/** The live list of executions (filterable, updated over SSE) and one execution's page (record, live logs, usage charts). */
import { h } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, type ExecutionRecord, stream, type UsageSample } from './api.ts';
import { Chart, usageSeries } from './chart.ts';

interface Summary {
  id: string;
  function: { name: string; version: number };
  status: string;
  tier: string | null;
  enqueuedAt: string;
  wallMs?: number;
}

const summaryOf = (r: ExecutionRecord): Summary => ({
  id: r.id,
  function: r.function,
  status: r.status,
  tier: r.tier,
  enqueuedAt: r.timings.enqueuedAt,
  wallMs: r.usage?.wallMs,
});

type Filters = { function: string; status: string; tier: string };

function filtersFromHash(): Filters {
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '');
  return { function: query.get('function') ?? '', status: query.get('status') ?? '', tier: query.get('tier') ?? '' };
}

const queryOf = (f: Filters) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  return q;
};

const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed', 'rejected'];

export function Executions(props: { compact?: boolean }) {
  const [filters, setFilters] = useState<Filters>(filtersFromHash);
  const [items, setItems] = useState<Summary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [live, setLive] = useState(false);
  const key = JSON.stringify(filters);

  useEffect(() => {
    const controller = new AbortController();
    const q = queryOf(filters);
    q.set('limit', props.compact ? '10' : '50');
    api<{ items: ExecutionRecord[]; nextCursor: string | null }>(`/v1/executions?${q}`).then(
      (page) => {
        setItems(page.items.map(summaryOf));
        setCursor(page.nextCursor);
      },
      (e: Error) => setError(e.message),
    );
    const matches = (s: Summary) =>
      (!filters.function || s.function.name === filters.function) &&
      (!filters.status || s.status === filters.status) &&
      (!filters.tier || s.tier === filters.tier);
    setLive(true);
    stream(
      '/v1/events',
      (event) => {
        if (event.event !== 'execution') return;
        const s = JSON.parse(event.data) as Summary;
        setItems((current) => {
          const rest = current.filter((c) => c.id !== s.id);
          if (!matches(s)) return rest.length === current.length ? current : rest;
          const at = current.findIndex((c) => c.id === s.id);
          if (at >= 0) return current.map((c) => (c.id === s.id ? { ...c, ...s } : c));
          return [s, ...current].slice(0, props.compact ? 10 : 500);
        });
      },
      controller.signal,
    )
      .catch(() => {})
      .finally(() => setLive(false));
    return () => controller.abort();
  }, [key]);

  const more = async () => {
    if (!cursor) return;
    const q = queryOf(filters);
    q.set('cursor', cursor);
    const page = await api<{ items: ExecutionRecord[]; nextCursor: string | null }>(`/v1/executions?${q}`);
    setItems((current) => [
      ...current,
      ...page.items.map(summaryOf).filter((s) => !current.some((c) => c.id === s.id)),
    ]);
    setCursor(page.nextCursor);
  };

  const input = (name: keyof Filters, placeholder: string) =>
    h('input', {
      name,
      placeholder,
      value: filters[name],
      onChange: (e: Event) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value.trim() }),
    });

  return h(
    'section',
    null,
    h(
      'h2',
      null,
      props.compact ? 'Recent executions' : 'Executions',
      ' ',
      h('span', { class: live ? 'live on' : 'live' }, live ? '● live' : '○'),
    ),
    props.compact
      ? null
      : h(
          'form',
          { class: 'filters', onSubmit: (e: Event) => e.preventDefault() },
          input('function', 'function'),
          h(
            'select',
            {
              name: 'status',
              value: filters.status,
              onChange: (e: Event) => setFilters({ ...filters, status: (e.target as HTMLSelectElement).value }),
            },
            ...STATUSES.map((s) => h('option', { value: s }, s || 'any status')),
          ),
          input('tier', 'tier'),
        ),
    error ? h('p', { class: 'error' }, error) : null,
    h(
      'table',
      { class: 'executions' },
      h(
        'thead',
        null,
        h('tr', null, ...['execution', 'function', 'status', 'tier', 'submitted', 'ms'].map((c) => h('th', null, c))),
      ),
      h(
        'tbody',
        null,
        ...items.map((s) =>
          h(
            'tr',
            { 'data-execution': s.id, 'data-status': s.status },
            h('td', null, h('a', { href: `#/executions/${s.id}` }, s.id.slice(0, 8))),
            h('td', null, `${s.function.name}@${s.function.version}`),
            h('td', { class: `status ${s.status}` }, s.status),
            h('td', null, s.tier ?? '—'),
            h('td', null, new Date(s.enqueuedAt).toLocaleTimeString()),
            h('td', null, s.wallMs !== undefined ? String(Math.round(s.wallMs)) : ''),
          ),
        ),
      ),
    ),
    cursor && !props.compact ? h('button', { onClick: more }, 'More') : null,
  );
}

const FINAL = new Set(['succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed', 'rejected']);

export function ExecutionPage(props: { id: string }) {
  const [record, setRecord] = useState<ExecutionRecord | undefined>();
  const [lines, setLines] = useState<string[]>([]);
  const [ended, setEnded] = useState<string | undefined>();
  const [samples, setSamples] = useState<UsageSample[]>([]);
  const [error, setError] = useState('');
  const pre = useRef<HTMLPreElement>(null);

  const loadRecord = () =>
    api<ExecutionRecord>(`/v1/executions/${props.id}`).then(setRecord, (e: Error) => setError(e.message));
  const loadUsage = () =>
    api<{ samples: UsageSample[] }>(`/v1/executions/${props.id}/usage`).then(
      (u) => setSamples(u.samples),
      () => {},
    );

  useEffect(() => {
    const controller = new AbortController();
    loadRecord();
    loadUsage();
    stream(
      `/v1/executions/${props.id}/logs?follow=1`,
      (event) => {
        if (event.event === 'log') {
          const chunk = JSON.parse(event.data) as { seq: number; text: string };
          setLines((current) => [...current, chunk.text]);
        } else if (event.event === 'end') {
          setEnded((JSON.parse(event.data) as { status: string }).status);
          loadRecord();
          loadUsage();
        }
      },
      controller.signal,
    ).catch(() => {});
    return () => controller.abort();
  }, [props.id]);

  // While it runs, the record and its usage series are refreshed.
  useEffect(() => {
    if (ended || (record && FINAL.has(record.status))) return;
    const timer = setInterval(() => {
      loadRecord();
      loadUsage();
    }, 1000);
    return () => clearInterval(timer);
  }, [ended, record?.status]);

  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [lines.length]);

  const series = useMemo(() => usageSeries(samples), [samples]);
  if (error) return h('p', { class: 'error' }, error);
  if (!record) return h('p', null, 'loading…');
  const status = ended ?? record.status;
  return h(
    'article',
    { class: 'execution', 'data-status': status },
    h(
      'h2',
      null,
      `${record.function.name}@${record.function.version} `,
      h('span', { class: `status ${status}`, id: 'status' }, status),
    ),
    h(
      'dl',
      null,
      ...[
        ['id', record.id],
        ['tier', record.tier ?? '—'],
        [
          'placement',
          record.placement
            ? `${record.placement.tier ?? '—'}${record.placement.reason ? ` (${record.placement.reason})` : ''}`
            : '—',
        ],
        ['start', record.start ? `${record.start.kind}, ${record.start.initMs} ms` : '—'],
        ['submitted', record.timings.enqueuedAt],
        ['wall', `${Math.round(record.usage.wallMs)} ms`],
        ['error', record.error ? `${record.error.code}: ${record.error.message}` : '—'],
        ['death', record.death ? record.death.cause : '—'],
      ].flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
    ),
    h('h3', null, 'Logs', ended ? ` (ended: ${ended})` : ' (live)'),
    h('pre', { class: 'logs', id: 'logs', ref: pre }, lines.join('')),
    h('h3', null, 'Usage'),
    samples.length === 0
      ? h('p', { class: 'muted', id: 'no-usage' }, 'no usage samples (the tier does not sample this run)')
      : h('div', { class: 'charts' }, ...series.map((s) => h(Chart, { series: s }))),
    h('h3', null, 'Record'),
    h('pre', { class: 'record' }, JSON.stringify(record, null, 2)),
  );
}
