/** Connects dockerode to the daemon named by DOCKER_HOST, a configured socket, or the default. */
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';

export interface DockerEndpoint {
  /** A unix socket path; empty means DOCKER_HOST, then /var/run/docker.sock. */
  socketPath?: string;
  env?: NodeJS.ProcessEnv;
}

export function dockerClient(endpoint: DockerEndpoint = {}): Docker {
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
