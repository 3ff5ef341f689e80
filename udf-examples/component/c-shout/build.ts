/**
 * Turns build/shout.core.wasm (built by build.sh) into build/shout.wasm, a component of the
 * Strata world: embed the WIT of wit/strata.wit, then componentNew with the WASI preview1
 * reactor adapter shipped by jco.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { componentEmbed, componentNew, preview1AdapterReactorPath } from '@bytecodealliance/jco';

const here = new URL('./', import.meta.url);
const core = readFileSync(new URL('build/shout.core.wasm', here));
const witSource = readFileSync(new URL('../../../wit/strata.wit', here), 'utf8');
const embedded = await componentEmbed({ binary: core, witSource, world: 'function', stringEncoding: 'utf8' });
const adapter = readFileSync(preview1AdapterReactorPath());
const component = await componentNew(embedded, [['wasi_snapshot_preview1', adapter]]);
writeFileSync(new URL('build/shout.wasm', here), component);
console.log(`built build/shout.wasm (${component.length} bytes)`);
