/** Dispatch: the message of one attempt, with small artifacts inline and read once per digest. */
import { expect, it } from 'vitest';
import { Dispatcher } from '../../src/master/dispatch.ts';
import type { TaskRow } from '../../src/master/types.ts';
import { WorkerState } from '../../src/master/worker-state.ts';
import { FakeCatalogue } from '../link/support/fakes.ts';

const silent = { info() {}, warn() {}, debug() {} };

function task(digest: string, n: number): TaskRow {
  return {
    id: `t${n}`,
    functionName: 'f',
    functionVersion: 1,
    digest,
    runtime: 'js',
    inputJson: '{"n":1}',
    priority: 2,
    timeoutMs: 100,
    labels: {},
    status: 'dispatched',
    workerId: 'w',
    attempt: 1,
    epoch: 10 + n,
    cancelRequested: false,
    createdAt: 0,
    updatedAt: 0,
  };
}

function capture(): { w: WorkerState; sent: Record<string, unknown>[] } {
  const w = new WorkerState('w');
  const sent: Record<string, unknown>[] = [];
  w.send = (m) => {
    sent.push((m as { dispatch: Record<string, unknown> }).dispatch);
    return true;
  };
  return { w, sent };
}

it('sends the attempt with its artifact inline when small, read from the catalogue once per digest', async () => {
  const catalogue = new FakeCatalogue();
  const small = (await catalogue.deploy({ name: 'f', runtime: 'js', source: 'x' }, new Uint8Array(10))).fn;
  const big = (await catalogue.deploy({ name: 'g', runtime: 'js', source: 'y' }, new Uint8Array(4096))).fn;
  let reads = 0;
  const artifact = catalogue.artifact.bind(catalogue);
  catalogue.artifact = (fn) => {
    reads++;
    return artifact(fn);
  };
  const d = new Dispatcher({ catalogue, inlineArtifactBytes: 1024, log: silent });
  const { w, sent } = capture();
  for (let i = 0; i < 5; i++) d.send(task(small.digest, i), w);
  d.send(task(big.digest, 9), w);
  expect(reads).toBe(2);
  expect(sent[0]).toMatchObject({
    task: { taskId: 't0', attempt: 1, epoch: 10 },
    function: { name: 'f', version: 1, digest: small.digest },
    timeoutMs: 100,
    priority: 2,
  });
  expect(sent[0]?.inline).toMatchObject({ digest: small.digest });
  expect(sent[5]?.inline).toBeNull();
});

it('inlines nothing when inlineArtifactBytes is 0', async () => {
  const catalogue = new FakeCatalogue();
  const fn = (await catalogue.deploy({ name: 'f', runtime: 'js', source: 'x' }, new Uint8Array(1))).fn;
  const { w, sent } = capture();
  new Dispatcher({ catalogue, inlineArtifactBytes: 0, log: silent }).send(task(fn.digest, 1), w);
  expect(sent[0]?.inline).toBeNull();
});
