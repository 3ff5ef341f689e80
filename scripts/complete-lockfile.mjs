#!/usr/bin/env node
/**
 * Adds lock entries for optional platform packages the registry mirror here does not serve
 * (other OSes and CPUs: @biomejs/cli-darwin-arm64 and such). npm writes no entry for a package it
 * cannot fetch, and `npm ci` then refuses the lock as "out of sync". Each added entry carries
 * the os/cpu/libc its name implies, so npm skips it on this platform without fetching it.
 * Run after any dependency change: `npm install && node scripts/complete-lockfile.mjs`.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'win32',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
  'wasi',
];
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 'riscv64', 's390x', 'loong64', 'wasm32', 'mips64el'];

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [where, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const version = String(spec).replace(/^[\^~=]/, '');
    const nested = `${where ? `${where}/` : ''}node_modules/${name}`;
    const top = packages[`node_modules/${name}`];
    if (packages[nested] || (top && top.version === version)) continue;
    // The top-level slot holds another version of it: this one nests under its parent.
    const slot = top ? nested : `node_modules/${name}`;
    const tokens = name.split('/').pop().split('-');
    const os = tokens.find((t) => OS.includes(t));
    const cpu = tokens.find((t) => CPU.includes(t));
    const added_entry = { version, optional: true };
    if (entry.dev) added_entry.dev = true;
    if (os) added_entry.os = [os === 'wasi' ? 'wasi' : os];
    if (cpu) added_entry.cpu = [cpu];
    if (tokens.includes('musl')) added_entry.libc = ['musl'];
    else if (tokens.includes('gnu') || tokens.includes('gnueabihf')) added_entry.libc = ['glibc'];
    if (!os && !cpu) continue; // not a platform package; leave it to npm
    packages[slot] = added_entry;
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform entries to package-lock.json`);
