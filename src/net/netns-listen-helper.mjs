/**
 * Runs inside a sandbox's network namespace (under nsenter, see netns-listener.ts): listens on
 * host:port, sends the listening socket to the parent over IPC, and exits. The address may not
 * exist for a few milliseconds while bubblewrap brings the namespace's loopback up: retried.
 * Plain JavaScript: it starts about 40 ms sooner than a .ts file would (measured on the 2-core
 * test VM: no type stripping), and it runs once per invocation that has network.
 */
import { createServer } from 'node:net';

const [host = '127.0.0.1', portText = '0'] = process.argv.slice(2);
const server = createServer();
let tries = 0;

function attempt() {
  server.once('error', (err) => {
    if (err.code === 'EADDRNOTAVAIL' && tries++ < 400) setTimeout(attempt, 5);
    else process.send?.({ error: `${err.code ?? ''} ${err.message}` }, () => process.exit(1));
  });
  server.listen({ host, port: Number(portText), exclusive: true, backlog: 64 }, () => {
    process.send?.({ ok: true }, server, () => process.exit(0));
  });
}

attempt();
