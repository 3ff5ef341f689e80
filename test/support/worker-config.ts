/** What every in-process test worker shares: its config on loopback, and app.request with a JSON body. */
import type { Worker } from '../../src/cli/worker.ts';
import { loadConfig } from '../../src/config/load.ts';

let workers = 0;

/**
 * A worker config on 127.0.0.1, port 0, one isolate host. Workers sharing a cgroup parent reap
 * each other's host groups (killing their hosts), and other suites run workers at the same time:
 * each test worker gets its own parent, named `<prefix>-<pid>-<n>`.
 */
export function testWorkerConfig(prefix: string, dataDir: string, overrides: Record<string, unknown> = {}) {
  return loadConfig({
    env: {},
    overrides: {
      dataDir,
      host: '127.0.0.1',
      port: 0,
      'isolate.hosts': 1,
      'resources.cgroupParent': `${prefix}-${process.pid}-${++workers}`,
      ...overrides,
    },
  });
}

/** app.request with a JSON content type (an object body is serialized, a string is sent as it is). */
export async function requestJson(
  worker: Worker,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await worker.app.request(path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}
