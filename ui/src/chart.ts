/** uPlot charts of an execution's usage series: CPU (% of one core), memory (MiB), IO (KiB read/written). */
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { UsageSample } from './api.ts';

export interface Series {
  title: string;
  labels: string[];
  /** x (seconds) then one array per label. */
  data: number[][];
}

/** Turn samples into the three charts' data (CPU from cumulative cpuMs deltas). */
export function usageSeries(samples: UsageSample[]): Series[] {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const x = sorted.map((s) => s.at / 1000);
  const cpu = sorted.map((s, i) => {
    const prev = sorted[i - 1];
    if (!prev || s.cpuMs === undefined || prev.cpuMs === undefined || s.at === prev.at) return 0;
    return Math.max(0, ((s.cpuMs - prev.cpuMs) / (s.at - prev.at)) * 100);
  });
  const mib = (v: number | undefined) => (v ?? 0) / (1024 * 1024);
  const kib = (v: number | undefined) => (v ?? 0) / 1024;
  return [
    { title: 'CPU %', labels: ['cpu'], data: [x, cpu] },
    { title: 'Memory MiB', labels: ['memory'], data: [x, sorted.map((s) => mib(s.memoryBytes ?? s.memoryPeakBytes))] },
    {
      title: 'IO KiB',
      labels: ['read', 'write'],
      data: [x, sorted.map((s) => kib(s.ioReadBytes)), sorted.map((s) => kib(s.ioWriteBytes))],
    },
  ];
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a'];

export function Chart(props: { series: Series }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(240, Math.min(el.clientWidth || 480, 720));
    const plot = new uPlot(
      {
        title: props.series.title,
        width,
        height: 180,
        scales: { x: { time: true } },
        series: [{}, ...props.series.labels.map((label, i) => ({ label, stroke: COLORS[i], width: 2 }))],
      },
      props.series.data as uPlot.AlignedData,
      el,
    );
    return () => plot.destroy();
  }, [props.series]);
  return h('div', { class: 'chart', ref: box, 'data-chart': props.series.title });
}
