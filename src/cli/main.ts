#!/usr/bin/env node
/**
 * The `strata` command (src/cli/program.ts builds the command tree). `strata serve` runs the
 * worker; `strata fn ...` and `strata exec ...` talk to a running worker over HTTP; `strata
 * master` and `strata dev` run the reference Master (alone, or with a worker in one process).
 */
import { runCli } from './program.ts';

runCli(process.argv.slice(2)).then(
  (code) => {
    // A failure exits at once, whatever handle is still open; success lets output drain first.
    if (code !== 0) process.exit(code);
    process.exitCode = 0;
    // The command is done (a stopped server has closed its sandboxes and its database).
    // Background work a tier cannot interrupt (a thread planning runner images around a
    // synchronous ldd) must not keep the process alive for minutes after it said "stopped".
    setTimeout(() => process.exit(0), 1000).unref();
  },
  (err: Error) => {
    process.stderr.write(`strata: ${String(err?.message ?? err).replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  },
);
