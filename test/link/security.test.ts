import * as grpc from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { linkProto, type MasterMessage__Output, type WorkerMessage } from '../../src/protocol/proto.ts';
import { makeCerts, type TestCerts } from './support/certs.ts';
import {
  deployNoop,
  startMaster,
  startWorker,
  type TestMaster,
  tempDir,
  useCleanups,
  waitFor,
  waitForTasks,
} from './support/harness.ts';

const cleanups = useCleanups('afterAll');

const connected = (m: TestMaster, id: string) => m.server.core.workers.get(id)?.connected;

async function master(overrides: Record<string, unknown> = {}) {
  const m = await startMaster({ overrides });
  cleanups.push(() => m.stop());
  return m;
}

/** A raw session with the generated client, for messages a real worker would never send. */
function rawSession(address: string, token?: string) {
  const Ctor = linkProto().strata.v1.WorkerLink;
  const client = new Ctor(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  const call = client.Connect(md);
  const received: MasterMessage__Output[] = [];
  let status: grpc.StatusObject | undefined;
  let error: grpc.ServiceError | undefined;
  call.on('data', (m: MasterMessage__Output) => received.push(m));
  call.on('error', (e: grpc.ServiceError) => {
    error = e;
  });
  call.on('status', (s: grpc.StatusObject) => {
    status = s;
  });
  cleanups.push(() => {
    call.cancel();
    client.close();
  });
  return {
    write: (m: WorkerMessage) => call.write(m),
    received,
    status: () => status,
    error: () => error,
    end: () => call.end(),
  };
}

const register = (workerId: string, extra: Record<string, unknown> = {}): WorkerMessage => ({
  register: {
    workerId,
    version: 'test',
    concurrency: 1,
    credits: { mode: 'DISPATCH_MODE_PUSH', window: 1 },
    ...extra,
  },
});

describe('authentication', () => {
  it('refuses a wrong or missing token with UNAUTHENTICATED and accepts the right one', async () => {
    const m = await master({ 'master.tokens': 'secret-token-1234' });
    const wrong = rawSession(m.address, 'nope');
    wrong.write(register('intruder'));
    await waitFor(() => wrong.error(), 'the call to fail');
    expect(wrong.error()?.code).toBe(grpc.status.UNAUTHENTICATED);
    const none = rawSession(m.address);
    none.write(register('intruder2'));
    await waitFor(() => none.error(), 'the call to fail');
    expect(none.error()?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(m.server.core.workers.size).toBe(0);

    const bad = startWorker({ masters: [m.address], id: 'badtoken', overrides: { 'link.token': 'wrong' } });
    cleanups.push(() => bad.stop());
    const good = startWorker({
      masters: [m.address],
      id: 'goodtoken',
      overrides: { 'link.token': 'secret-token-1234' },
    });
    cleanups.push(() => good.stop());
    await waitFor(() => connected(m, 'goodtoken'), 'the right token to connect');
    await new Promise((r) => setTimeout(r, 200));
    expect(connected(m, 'badtoken')).toBeFalsy();
    expect(bad.link.stats().state).toBe('connecting');
  });
});

describe('TLS', () => {
  let certs: TestCerts;
  beforeAll(() => {
    certs = makeCerts(tempDir('strata-certs-'));
  });
  /** A Master that serves TLS and requires client certificates from the test CA. */
  const mtlsMaster = () =>
    master({
      'master.tls.enabled': true,
      'master.tls.cert': certs.serverCert,
      'master.tls.key': certs.serverKey,
      'master.tls.ca': certs.ca,
      'master.tls.clientAuth': true,
    });

  it('mutual TLS: a worker with a certificate from the trusted CA connects and runs tasks', async () => {
    const m = await mtlsMaster();
    const fn = await deployNoop(m);
    const w = startWorker({
      masters: [m.address],
      id: 'mtls',
      overrides: {
        'link.tls.enabled': true,
        'link.tls.ca': certs.ca,
        'link.tls.cert': certs.clientCert,
        'link.tls.key': certs.clientKey,
      },
    });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(m, 'mtls'), 'mTLS worker');
    const [view] = await waitForTasks(m, [m.server.core.submit({ function: fn, input: { echo: 'tls' } })]);
    expect(view?.result).toBe('tls');
  });

  it('refuses a client certificate from another CA, and a worker refuses a Master it cannot verify', async () => {
    const m = await mtlsMaster();
    const rogue = startWorker({
      masters: [m.address],
      id: 'rogue',
      overrides: {
        'link.tls.enabled': true,
        'link.tls.ca': certs.ca,
        'link.tls.cert': certs.rogueClientCert,
        'link.tls.key': certs.rogueClientKey,
      },
    });
    cleanups.push(() => rogue.stop());
    const distrustful = startWorker({
      masters: [m.address],
      id: 'distrustful',
      overrides: {
        'link.tls.enabled': true,
        'link.tls.ca': certs.rogueCa,
        'link.tls.cert': certs.clientCert,
        'link.tls.key': certs.clientKey,
      },
    });
    cleanups.push(() => distrustful.stop());
    const plain = startWorker({ masters: [m.address], id: 'plaintext' });
    cleanups.push(() => plain.stop());
    // Each has been refused and tried again (an event, not a delay: a busy machine is slower).
    const refused = [rogue, distrustful, plain];
    await waitFor(
      () => refused.every((w) => w.link.counters.reconnects > 0),
      'each worker to be refused and retry',
      60_000,
    );
    expect(m.server.core.workers.size).toBe(0);
    for (const w of refused) {
      expect(w.link.stats().state).toBe('connecting');
      expect(w.link.counters.reconnects).toBeGreaterThan(0);
    }
  });
});

describe('bad input', () => {
  it('bytes that are not a protobuf message end that call only', async () => {
    const m = await master();
    const client = new grpc.Client(m.address, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    const call = client.makeBidiStreamRequest(
      '/strata.v1.WorkerLink/Connect',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    let error: grpc.ServiceError | undefined;
    call.on('error', (e: grpc.ServiceError) => {
      error = e;
    });
    call.on('data', () => {});
    call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    await waitFor(() => error, 'the malformed call to fail');
    expect(error?.code).not.toBe(grpc.status.OK);
    const w = startWorker({ masters: [m.address], id: 'after-garbage' });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(m, 'after-garbage'), 'a good worker still connects');
  });

  it('an oversized message is refused with RESOURCE_EXHAUSTED; the Master serves on', async () => {
    const m = await master({ 'master.maxMessageBytes': 64 * 1024 });
    const s = rawSession(m.address);
    s.write(register('huge', { labels: { blob: 'x'.repeat(200 * 1024) } }));
    await waitFor(() => s.error(), 'the oversized call to fail');
    expect(s.error()?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(m.server.core.workers.has('huge')).toBe(false);
    const w = startWorker({ masters: [m.address], id: 'normal' });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(m, 'normal'), 'a normal worker still connects');
  });

  it('a session that does not start with register, or registers without an id, is refused', async () => {
    const m = await master();
    const s1 = rawSession(m.address);
    s1.write({ heartbeat: { status: 'NODE_STATUS_OK' } });
    await waitFor(() => s1.error(), 'refusal');
    expect(s1.error()?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const s2 = rawSession(m.address);
    s2.write(register(''));
    await waitFor(() => s2.error(), 'refusal');
    expect(s2.error()?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('unknown task ids are answered and ignored; the session stays up', async () => {
    const m = await master();
    const s = rawSession(m.address);
    s.write(register('raw'));
    await waitFor(() => s.received.find((r) => r.body === 'registerAck'), 'register ack');
    s.write({ taskStatus: { task: { taskId: 'tsk_nope', attempt: 1, epoch: 99 }, state: 'TASK_STATE_RUNNING' } });
    s.write({ controlAck: { controlId: 12345, ok: true } });
    s.write({
      result: {
        task: { taskId: 'tsk_nope', attempt: 1, epoch: 99 },
        outboxId: 7,
        status: 'succeeded',
        totalBytes: 2,
        recordJson: Buffer.from('{}'),
        last: true,
      },
    });
    s.write({ heartbeat: { status: 'NODE_STATUS_OK', seq: 42 } });
    const ack = await waitFor(() => s.received.find((r) => r.body === 'resultAck'), 'result ack');
    expect(ack.resultAck).toMatchObject({ outboxId: '7', accepted: false, reason: 'unknown_task' });
    await waitFor(
      () => s.received.find((r) => r.body === 'heartbeatAck' && r.heartbeatAck?.seq === '42'),
      'heartbeat ack',
    );
    expect(s.error()).toBeUndefined();
    expect(m.server.core.embedded?.countResultsNow()).toBe(0);
  });

  it('a worker answers a control message about a task it does not hold with not_found', async () => {
    const m = await master();
    const w = startWorker({ masters: [m.address], id: 'wctl' });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(m, 'wctl'), 'register');
    const reply = await m.server.core.control('wctl', { cancel: { taskId: 'tsk_ghost', attempt: 1, epoch: 5 } });
    expect(reply).toMatchObject({ ok: false, code: 'not_found' });
  });
});
