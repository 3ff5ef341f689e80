/**
 * The wire contract of link.proto, checked with raw gRPC on both sides (issue 15): a hand-written
 * "Master" (a bare grpc-js server over the .proto) drives a real worker link, and a bare client
 * talks to the real reference Master. Nothing here goes through Strata's own message helpers.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { PROTO_DIR, PROTO_FILE } from '../../src/protocol/proto.ts';
import { digestOf } from './support/fakes.ts';
import { startCatalogueMaster, startWorker, useCleanups, waitFor } from './support/harness.ts';

const cleanups = useCleanups();

/** The proto as an independent implementation would load it: uint64 as strings, nothing rounded. */
function rawProto() {
  const def = protoLoader.loadSync(PROTO_FILE, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
  // biome-ignore lint/suspicious/noExplicitAny: a raw, untyped view of the service on purpose
  return (grpc.loadPackageDefinition(def) as any).strata.v1;
}

// biome-ignore lint/suspicious/noExplicitAny: raw wire objects, read as an independent peer would
type Raw = Record<string, any>;

/** A bare Master: records what the worker sends and lets the test write to the stream. */
async function rawMaster() {
  const pkg = rawProto();
  const received: Raw[] = [];
  let stream: grpc.ServerDuplexStream<Raw, Raw> | undefined;
  const server = new grpc.Server();
  server.addService(pkg.WorkerLink.service, {
    Connect(call: grpc.ServerDuplexStream<Raw, Raw>) {
      stream = call;
      call.on('data', (m: Raw) => {
        received.push(m);
        if (m.body === 'register')
          call.write({
            register_ack: { master_id: 'raw-master', max_message_bytes: 4 << 20, heartbeat_timeout_ms: 3000 },
          });
        if (m.body === 'heartbeat') call.write({ heartbeat_ack: { seq: m.heartbeat.seq } });
      });
      call.on('error', () => {});
    },
    FetchArtifact(call: grpc.ServerWritableStream<Raw, Raw>) {
      call.emit('error', { code: grpc.status.NOT_FOUND, details: 'none here' });
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))),
  );
  cleanups.push(() => new Promise<void>((res) => server.tryShutdown(() => res())));
  return {
    address: `127.0.0.1:${port}`,
    received,
    write: (m: Raw) => stream?.write(m),
    closeStream: () => stream?.end(),
    of: (body: string) => received.filter((m) => m.body === body),
  };
}

const BIG_EPOCH = (2n ** 53n + 1n).toString(); // 9007199254740993: not a double
const MAX_U64 = (2n ** 64n - 1n).toString();

describe('wire contract: a worker against a bare Master', () => {
  it('echoes an epoch of 2^53 + 1 and a control id of 2^64 - 1 exactly; ACCEPTED comes before RUNNING and the result', async () => {
    const m = await rawMaster();
    const w = startWorker({ masters: [m.address], id: 'wire-w' });
    cleanups.push(() => w.stop());
    await waitFor(() => m.of('register').length > 0 && m.of('heartbeat').length > 0, 'register and a heartbeat');

    const manifest = { name: 'noop', runtime: 'js', trust: 'trusted' };
    const code = Buffer.from('export default (x) => x');
    const digest = digestOf(manifest, code);
    m.write({
      dispatch: {
        task: { task_id: 'tsk_big', attempt: 1, epoch: BIG_EPOCH },
        function: { name: 'noop', version: 1, digest },
        inline: { digest, manifest_json: Buffer.from(JSON.stringify(manifest)), code },
        input_json: Buffer.from('{"echo":1}'),
      },
    });
    const result = await waitFor(() => m.of('result')[0], 'the result');
    expect(result.result.task).toEqual({ task_id: 'tsk_big', attempt: 1, epoch: BIG_EPOCH });
    expect(result.result.status).toBe('succeeded');
    const statuses = m.of('task_status').filter((s) => s.task_status.task.task_id === 'tsk_big');
    expect(statuses[0]?.task_status.state).toBe('TASK_STATE_ACCEPTED');
    for (const s of statuses) expect(s.task_status.task.epoch).toBe(BIG_EPOCH);

    // An unknown task's cancel: answered not_found with the control id exactly as sent.
    m.write({ control: { control_id: MAX_U64, cancel: { task_id: 'tsk_nope', attempt: 1, epoch: BIG_EPOCH } } });
    const ack = await waitFor(() => m.of('control_ack')[0], 'the control ack');
    expect(ack.control_ack).toMatchObject({ control_id: MAX_U64, ok: false, code: 'not_found' });

    // Unacknowledged, the result is held: a new stream (any Master id) gets it again, epoch intact.
    const before = m.of('register').length;
    m.closeStream();
    await waitFor(() => m.of('register').length > before, 'the worker to reconnect');
    const reg = m.of('register').at(-1);
    expect(reg?.register.held).toContainEqual({ task_id: 'tsk_big', attempt: 1, epoch: BIG_EPOCH });
    await waitFor(() => m.of('result').length > 1, 'the result resent');
    expect(m.of('result').at(-1)?.result.task.epoch).toBe(BIG_EPOCH);
  });

  it('a dispatch that breaks the contract (digest not sha256 hex) drops the stream: nothing runs, the worker reconnects', async () => {
    const m = await rawMaster();
    const w = startWorker({ masters: [m.address], id: 'wire-v' });
    cleanups.push(() => w.stop());
    await waitFor(() => m.of('heartbeat').length > 0, 'a heartbeat');
    const registers = m.of('register').length;
    m.write({
      dispatch: {
        task: { task_id: 'tsk_bad', attempt: 1, epoch: '1' },
        function: { name: 'noop', version: 1, digest: 'not-a-digest' },
        input_json: Buffer.from('{}'),
      },
    });
    await waitFor(() => m.of('register').length > registers, 'the worker to reconnect');
    expect(w.executor.running.size).toBe(0);
    expect(m.of('task_status').some((s) => s.task_status.task.task_id === 'tsk_bad')).toBe(false);
  });
});

/** A bare client on the real Master's Connect stream. */
function rawClient(address: string) {
  const pkg = rawProto();
  const client = new pkg.WorkerLink(address, grpc.credentials.createInsecure());
  const call = client.Connect(new grpc.Metadata());
  const received: Raw[] = [];
  call.on('data', (m: Raw) => received.push(m));
  call.on('error', () => {});
  cleanups.push(() => {
    call.cancel();
    client.close();
  });
  return { client, write: (m: Raw) => call.write(m), received };
}

describe('wire contract: a bare worker against the reference Master', () => {
  it('acks a heartbeat seq of 2^64 - 1 and an outbox id of 2^53 + 1 exactly', async () => {
    const { master, stop } = await startCatalogueMaster();
    cleanups.push(stop);
    const c = rawClient(master.grpcAddress);
    c.write({ register: { worker_id: 'bare', version: 't', concurrency: 1, credits: { mode: 'DISPATCH_MODE_PULL' } } });
    await waitFor(() => c.received.find((r) => r.body === 'register_ack'), 'register ack');
    c.write({ heartbeat: { status: 'NODE_STATUS_OK', seq: MAX_U64 } });
    c.write({
      result: {
        task: { task_id: 'tsk_unknown', attempt: 1, epoch: BIG_EPOCH },
        outbox_id: BIG_EPOCH,
        status: 'succeeded',
        total_bytes: 2,
        record_json: Buffer.from('{}'),
        last: true,
      },
    });
    const hb = await waitFor(() => c.received.find((r) => r.body === 'heartbeat_ack'), 'heartbeat ack');
    expect(hb.heartbeat_ack.seq).toBe(MAX_U64);
    const ack = await waitFor(() => c.received.find((r) => r.body === 'result_ack'), 'result ack');
    expect(ack.result_ack).toMatchObject({ outbox_id: BIG_EPOCH, accepted: false, reason: 'unknown_task' });
    expect(ack.result_ack.task.epoch).toBe(BIG_EPOCH);
  });

  it('a result with an empty task id ends the session with INVALID_ARGUMENT; nothing is stored', async () => {
    const { master, stop } = await startCatalogueMaster();
    cleanups.push(stop);
    const pkg = rawProto();
    const client = new pkg.WorkerLink(master.grpcAddress, grpc.credentials.createInsecure());
    const call = client.Connect(new grpc.Metadata());
    const received: Raw[] = [];
    let error: grpc.ServiceError | undefined;
    call.on('data', (x: Raw) => received.push(x));
    call.on('error', (e: grpc.ServiceError) => {
      error = e;
    });
    cleanups.push(() => {
      call.cancel();
      client.close();
    });
    call.write({ register: { worker_id: 'bare2', concurrency: 1 } });
    await waitFor(() => received.find((r) => r.body === 'register_ack'), 'register ack');
    call.write({
      result: {
        task: { task_id: '', attempt: 1, epoch: '1' },
        outbox_id: '1',
        status: 'succeeded',
        total_bytes: 2,
        record_json: Buffer.from('{}'),
        last: true,
      },
    });
    await waitFor(() => error, 'the session to end');
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toContain('result.task.taskId');
    expect(master.core.embedded?.countResultsNow()).toBe(0);
  });

  it('serves an artifact whose digest follows the rule written in link.proto (computed here, no registry)', async () => {
    const { master, stop } = await startCatalogueMaster();
    cleanups.push(stop);
    const source = 'export default (input) => ({ ok: input })';
    const deployed = await master.core.catalogue.deploy({ name: 'ruled', runtime: 'js', source });
    const fn = deployed.fn;
    const c = rawClient(master.grpcAddress);
    const chunks: Raw[] = await new Promise((res, rej) => {
      const got: Raw[] = [];
      const call = c.client.FetchArtifact({ digest: fn.digest, max_message_bytes: 1 << 20 }, new grpc.Metadata());
      call.on('data', (x: Raw) => got.push(x));
      call.on('end', () => res(got));
      call.on('error', rej);
    });
    const first = chunks[0] as Raw;
    const manifest = JSON.parse(Buffer.from(first.manifest_json).toString('utf8'));
    const code = Buffer.concat(chunks.map((x) => Buffer.from(x.code)));
    expect(Number(first.code_size)).toBe(code.byteLength);
    // The rule: manifest normalised (defaults in), no `source`; code = the source's UTF-8 bytes.
    expect(manifest.source).toBeUndefined();
    expect(manifest.trust).toBeDefined();
    expect(code.toString('utf8')).toBe(source);
    const canonical = (v: unknown): string => {
      if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
      if (v && typeof v === 'object')
        return `{${Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`)
          .join(',')}}`;
      return JSON.stringify(v);
    };
    const hex = (d: string | Buffer) => createHash('sha256').update(d).digest('hex');
    expect(hex(`${canonical(manifest)}\n${hex(code)}`)).toBe(fn.digest);
    expect(first.digest).toBe(fn.digest);
  });
});
