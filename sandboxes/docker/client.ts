/**
 * Connects dockerode to the daemon named by DOCKER_HOST, a configured socket, or the default.
 * dockerode (with the gRPC and protobufjs it pulls in, ~25-35 MB of RSS) is loaded only when a
 * client is first used: a worker whose daemon is not reachable never loads it.
 */
import { request } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

export interface DockerEndpoint {
  /** A unix socket path; empty means DOCKER_HOST, then /var/run/docker.sock. */
  socketPath?: string;
  env?: NodeJS.ProcessEnv;
}

export function dockerClient(endpoint: DockerEndpoint = {}): Docker {
  const Docker = require('dockerode') as typeof import('dockerode');
  const env = endpoint.env ?? process.env;
  if (endpoint.socketPath) return new Docker({ socketPath: endpoint.socketPath });
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
  }
  return new Docker({ socketPath: '/var/run/docker.sock' });
}

/** A client that loads dockerode on its first use (a method call or a field read). */
export function lazyDockerClient(endpoint: DockerEndpoint = {}): Docker {
  let client: Docker | undefined;
  const real = () => {
    client ??= dockerClient(endpoint);
    return client;
  };
  return new Proxy({} as Docker, {
    get(_, prop) {
      const value = Reflect.get(real(), prop);
      return typeof value === 'function' ? value.bind(real()) : value;
    },
  });
}

/** Where the daemon listens: a unix socket, or host and port (DOCKER_HOST=tcp://). */
function daemonAddress(endpoint: DockerEndpoint): { socketPath: string } | { host: string; port: number } {
  const env = endpoint.env ?? process.env;
  if (endpoint.socketPath) return { socketPath: endpoint.socketPath };
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  return { socketPath: '/var/run/docker.sock' };
}

/** `GET /_ping` without dockerode: whether the daemon answers (rejects with why not). */
export function pingDaemon(endpoint: DockerEndpoint = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ ...daemonAddress(endpoint), path: '/_ping', method: 'GET' }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`the daemon answered /_ping with HTTP ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Where the client connects, for messages. */
export function describeEndpoint(endpoint: DockerEndpoint = {}): string {
  return endpoint.socketPath || (endpoint.env ?? process.env).DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/**
 * Attach to a created container's stdin, stdout and stderr as one hijacked duplex stream (the
 * runner protocol and the cold path both speak over it; output is multiplexed, see demux.ts).
 */
export async function attachStdio(container: Docker.Container): Promise<Duplex> {
  return (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Duplex;
}
