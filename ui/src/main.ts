/**
 * The Strata dashboard (GET /ui). On a worker: functions, a live list of executions (SSE,
 * filterable), an execution page (record, live logs, usage charts) and tier health. On the
 * Master: workers, task counts and a task lookup. Hash routes: #/, #/executions, #/executions/<id>.
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { h, render, type VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, token } from './api.ts';
import { ExecutionPage, Executions } from './executions.ts';
import { MasterHome } from './master.ts';
import { WorkerHome } from './worker.ts';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function TokenBar(props: { onSave: () => void }) {
  const [value, setValue] = useState(token.get());
  return h(
    'form',
    {
      class: 'token',
      onSubmit: (e: Event) => {
        e.preventDefault();
        token.set(value);
        props.onSave();
      },
    },
    h(
      'label',
      null,
      'API token ',
      h('input', { type: 'password', value, onInput: (e: Event) => setValue((e.target as HTMLInputElement).value) }),
    ),
    h('button', { type: 'submit' }, 'Save'),
  );
}

function App() {
  const server = document.body.dataset.server === 'master' ? 'master' : 'worker';
  const hash = useHash();
  const [authNeeded, setAuthNeeded] = useState(false);
  const [epoch, setEpoch] = useState(0);
  useEffect(() => {
    if (server !== 'worker') return;
    api('/v1/functions').then(
      () => setAuthNeeded(false),
      (e) => setAuthNeeded(e instanceof ApiError && e.status === 401),
    );
  }, [epoch]);
  const nav = [
    ['#/', server === 'master' ? 'Workers' : 'Overview'],
    ...(server === 'worker' ? [['#/executions', 'Executions']] : []),
    ['/docs', 'API'],
  ];
  // biome-ignore lint/suspicious/noExplicitAny: pages take different props
  let page: VNode<any>;
  const exec = /^#\/executions\/([^/?]+)/.exec(hash);
  if (server === 'master') page = h(MasterHome, { key: epoch });
  else if (exec) page = h(ExecutionPage, { id: decodeURIComponent(exec[1]!), key: `${exec[1]}-${epoch}` });
  else if (hash.startsWith('#/executions')) page = h(Executions, { key: epoch });
  else page = h(WorkerHome, { key: epoch });
  return h(
    'div',
    { class: 'app' },
    h(
      'header',
      null,
      h('strong', null, `Strata ${server}`),
      h('nav', null, ...nav.map(([href, label]) => h('a', { href, class: hash === href ? 'active' : '' }, label))),
    ),
    authNeeded ? h(TokenBar, { onSave: () => setEpoch(epoch + 1) }) : null,
    h('main', null, page),
  );
}

render(h(App, null), document.getElementById('app')!);
