import { h, render } from 'preact';

render(h('h1', null, 'Strata'), document.getElementById('app')!);
