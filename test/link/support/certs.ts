/** Test certificates made with openssl at test time: a CA, server and client certs, and a rogue CA. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCa: string;
  rogueClientCert: string;
  rogueClientKey: string;
}

const ssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

function makeCa(dir: string, name: string): void {
  ssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
  ]);
}

function makeCert(dir: string, ca: string, name: string, san: string): void {
  ssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
  ssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
}

export function makeCerts(dir: string): TestCerts {
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  makeCert(dir, 'ca', 'server', 'DNS:localhost,IP:127.0.0.1');
  makeCert(dir, 'ca', 'client', 'DNS:worker');
  makeCert(dir, 'rogue-ca', 'rogue-client', 'DNS:worker');
  const p = (f: string) => join(dir, f);
  return {
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    rogueCa: p('rogue-ca.pem'),
    rogueClientCert: p('rogue-client.pem'),
    rogueClientKey: p('rogue-client.key'),
  };
}
