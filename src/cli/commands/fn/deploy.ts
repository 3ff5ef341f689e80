/** `strata fn deploy <path>`: a code file, a manifest .json (code beside it) or a folder with a manifest.json. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { signDigest } from '../../../governance/signing.ts';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../../command-kit.ts';
import { type DeployFlags, deployInput } from '../../deploy-input.ts';
import { printDeploy } from '../../print.ts';
import { progress } from '../../progress.ts';

export function register(fn: Command): void {
  clientCommand(fn, 'deploy', 'deploy a function: a .js/.mjs/.sh/.py/.wasm file, a manifest .json or a folder with one')
    .argument('<path>', 'the code file, manifest or folder')
    .option('--name <name>', "function name (default: the manifest's, else the file or folder name)")
    .addOption(
      new Option('--trust <level>', 'how far the code is trusted (default standard)').choices([
        'trusted',
        'standard',
        'untrusted',
      ]),
    )
    .option('--memory <size>', 'memory limit, e.g. 64MiB')
    .option('--timeout <duration>', 'time limit, e.g. 2s or 500ms')
    .option('--entry <export>', 'WASM: the export to call')
    .addOption(new Option('--interpreter <name>', 'script interpreter').choices(['bash', 'sh', 'python3', 'node']))
    .option('--priority <n>', 'queue priority, 0-1000 (higher first)')
    .option('--module <file>', 'with a manifest: the .wasm to upload (default: the one beside it)')
    .option('--source <file>', 'with a manifest: the JS or script source (default: the one beside it)')
    .option('--sign <key>', 'sign with this ed25519 private key (PEM file); the key id is --key-id or the file name')
    .option('--key-id <id>', 'the signing key id the worker knows it by (signing.keys)')
    .addHelpText(
      'after',
      '\nExamples:\n  strata fn deploy udf-examples/js/hello.js\n  strata fn deploy udf-examples/js/fibonacci.js --trust trusted\n  strata fn deploy udf-examples/wasm/wat-add\n  strata fn deploy udf-examples/component/js-wordcount/manifest.json',
    )
    .action(
      action(async (path: string, flags: DeployFlags & ClientFlags & { sign?: string; keyId?: string }) => {
        const input = deployInput(path, flags);
        const client = clientOf(flags);
        const bodyOf = (signature?: { keyId: string; sig: string }): string | FormData => {
          if (!input.module) return JSON.stringify(signature ? { ...input.manifest, signature } : input.manifest);
          const form = new FormData();
          form.set('manifest', JSON.stringify(input.manifest));
          form.set('module', new Blob([input.module.bytes], { type: 'application/wasm' }), basename(input.module.file));
          if (signature) form.set('signature', JSON.stringify(signature));
          return form;
        };
        const waiting = progress(`deploying ${input.manifest.name}`);
        let response: { body: Record<string, unknown> };
        try {
          let signature: { keyId: string; sig: string } | undefined;
          if (flags.sign) {
            // Ask the worker for the digest (a dry run stores nothing), sign it, then deploy.
            const dry = await client.request<{ digest: string }>('POST', '/v1/functions?dryRun=1', { body: bodyOf() });
            const keyId = flags.keyId ?? basename(flags.sign).replace(/\.(pem|key)$/, '');
            signature = { keyId, sig: signDigest(readFileSync(flags.sign, 'utf8'), dry.body.digest) };
          }
          response = await client.request<Record<string, unknown>>('POST', '/v1/functions', {
            body: bodyOf(signature),
          });
        } finally {
          waiting.done();
        }
        print(flags, response.body, () => printDeploy(response.body));
      }),
    );
}
