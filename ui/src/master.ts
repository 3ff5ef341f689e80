/** The Master's page: workers (status, mode, load, free slots, last heartbeat), task counts by status, a task lookup. */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { useFetch } from './worker.ts';

interface WorkerView {
  id: string;
  status: string;
  mode: string;
  runningTasks: number;
  freeSlots: number;
  lastHeartbeatAt: string | number | null;
}

/** Tasks by status and dispatch counters from the Master's /metrics. */
function useTaskCounts(): { tasks: Record<string, number>; dispatch: Record<string, number> } {
  const { data } = useFetch<string>('/metrics', 2000);
  const text = data ?? '';
  const tasks: Record<string, number> = {};
  for (const m of text.matchAll(/^strata_master_tasks\{status="([^"]+)"\} (\d+)/gm)) tasks[m[1]!] = Number(m[2]);
  const dispatch: Record<string, number> = {};
  const lost = /^strata_master_workers_lost_total (\d+)/m.exec(text);
  if (lost) dispatch['workers lost'] = Number(lost[1]);
  for (const m of text.matchAll(/^strata_master_results_refused_total\{reason="([^"]+)"\} (\d+)/gm))
    dispatch[`results refused (${m[1]})`] = Number(m[2]);
  return { tasks, dispatch };
}

function TaskLookup() {
  const [id, setId] = useState('');
  const [task, setTask] = useState('');
  return h(
    'section',
    null,
    h('h2', null, 'Task'),
    h(
      'form',
      {
        onSubmit: (e: Event) => {
          e.preventDefault();
          api(`/v1/tasks/${encodeURIComponent(id)}`).then(
            (t) => setTask(JSON.stringify(t, null, 2)),
            (err: Error) => setTask(err.message),
          );
        },
      },
      h('input', {
        placeholder: 'task id',
        value: id,
        onInput: (e: Event) => setId((e.target as HTMLInputElement).value),
      }),
      h('button', { type: 'submit' }, 'Show'),
    ),
    task ? h('pre', { class: 'record' }, task) : null,
  );
}

export function MasterHome() {
  const { data, error } = useFetch<WorkerView[]>('/v1/workers', 2000);
  const { tasks: counts, dispatch } = useTaskCounts();
  return h(
    'div',
    null,
    h(
      'section',
      null,
      h('h2', null, 'Workers'),
      error ? h('p', { class: 'error' }, error) : null,
      h(
        'table',
        { class: 'workers' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ...['worker', 'status', 'mode', 'running', 'free slots', 'last heartbeat'].map((c) => h('th', null, c)),
          ),
        ),
        h(
          'tbody',
          null,
          ...(data ?? []).map((w) =>
            h(
              'tr',
              { 'data-worker': w.id },
              h('td', null, w.id),
              h('td', { class: `status ${w.status}` }, w.status),
              h('td', null, w.mode),
              h('td', null, String(w.runningTasks)),
              h('td', null, String(w.freeSlots)),
              h('td', null, w.lastHeartbeatAt ? new Date(w.lastHeartbeatAt).toLocaleTimeString() : '—'),
            ),
          ),
        ),
      ),
    ),
    h(
      'section',
      null,
      h('h2', null, 'Tasks by status'),
      h(
        'ul',
        { class: 'counts' },
        ...Object.entries(counts).map(([s, n]) => h('li', { 'data-count': s }, h('b', null, `${n}`), ` ${s}`)),
      ),
    ),
    h(
      'section',
      null,
      h('h2', null, 'Dispatch'),
      h(
        'ul',
        { class: 'counts' },
        ...Object.entries(dispatch).map(([s, n]) => h('li', null, h('b', null, `${n}`), ` ${s}`)),
      ),
    ),
    h(TaskLookup, null),
  );
}
