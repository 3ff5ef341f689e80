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
  },
  (err: Error) => {
    process.stderr.write(`strata: ${String(err?.message ?? err).replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  },
);
