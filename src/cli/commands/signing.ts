/**
 * `strata signing generate --out FILE` (also `strata keys generate --out FILE`): a new ed25519 key
 * pair for deploy signatures. The private key goes to FILE (mode 0600, PEM), the public key
 * (base64 SPKI) to FILE.pub and stdout, ready for `signing.keys` ({"<id>": "<public key>"}).
 * Deploy with `strata fn deploy … --sign FILE`.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { action } from '../command-kit.ts';

/** Adds `generate` under `group` (`signing` and `keys` both offer it). */
export function registerGenerate(group: Command): Command {
  return group
    .command('generate')
    .description('make an ed25519 signing key pair: the private key in --out (0600), the public key in --out.pub')
    .requiredOption('--out <file>', 'where the private key goes (PEM)')
    .option('--json', 'print {keyId, publicKey, file} as JSON')
    .action(
      action(async (flags: { out: string; json?: boolean }) => {
        const { generateSigningKey } = await import('../../governance/signing.ts');
        const { privateKeyPem, publicKey } = generateSigningKey();
        writeFileSync(flags.out, privateKeyPem, { mode: 0o600, flag: 'wx' });
        writeFileSync(`${flags.out}.pub`, `${publicKey}\n`);
        const keyId = basename(flags.out).replace(/\.(pem|key)$/, '');
        if (flags.json) console.log(JSON.stringify({ keyId, publicKey, file: flags.out }));
        else {
          console.log(publicKey);
          console.error(`private key in ${flags.out}; configure signing.keys = {"${keyId}": "<the line above>"}`);
        }
        return 0;
      }),
    );
}

export function register(program: Command): void {
  registerGenerate(program.command('signing').description('ed25519 keys for deploy signatures'));
}
