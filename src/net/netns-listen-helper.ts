/**
 * Runs inside a sandbox's network namespace (under nsenter, see netns-listener.ts): listens on
 * host:port, sends the listening socket to the parent over IPC, and exits. The address may not
 * exist for a few milliseconds while bubblewrap brings the namespace's loopback up: retried.
 */
import { createServer } from 'node:net';

const [host = '127.0.0.1', portText = '0'] = process.argv.slice(2);
const server = createServer();
let tries = 0;

function attempt(): void {
  server.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRNOTAVAIL' && tries++ < 400) setTimeout(attempt, 5);
    else process.send?.({ error: `${err.code ?? ''} ${err.message}` }, () => process.exit(1));
  });
  server.listen({ host, port: Number(portText), exclusive: true, backlog: 64 }, () => {
    process.send?.({ ok: true }, server, () => process.exit(0));
  });
}

attempt();
