/** `strata fn invoke <name[@version|@alias]>`: run a function and print its record (exit 1 unless it succeeded). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { refPath } from '../../client.ts';
import { action, type ClientFlags, clientCommand, clientOf, print } from '../../command-kit.ts';
import { CliError, usageError } from '../../errors.ts';
import { printRecord } from '../../print.ts';
import { followLogs } from '../logs.ts';
import { functionNotFound } from './not-found.ts';

interface InvokeFlags extends ClientFlags {
  data?: string;
  dataFile?: string;
  version?: string;
  async?: boolean;
  callback?: string;
  follow?: boolean;
}

export function register(fn: Command): void {
  clientCommand(fn, 'invoke', 'invoke a function: NAME runs latest, NAME@3 a version, NAME@prod an alias')
    .argument('<function>', 'NAME, NAME@<version> or NAME@<alias>')
    .option('--data <json>', 'the input as JSON (default null)')
    .option('--data-file <file>', 'read the input JSON from a file')
    .option('--version <n>', 'the version to run (same as NAME@<n>)')
    .option('--async', 'answer at once with the execution id (poll it with `strata exec get`)')
    .option('--callback <url>', 'with --async: POST the finished record to this URL (signed)')
    .option('--follow', 'stream the logs while it runs, then print the record (see `strata logs -f`)')
    .action(
      action(async (ref: string, flags: InvokeFlags) => {
        if (flags.data !== undefined && flags.dataFile) throw usageError('pass --data or --data-file, not both');
        if (flags.callback && !flags.async) throw usageError('--callback needs --async');
        let data = flags.data ?? 'null';
        if (flags.dataFile) {
          try {
            data = readFileSync(flags.dataFile, 'utf8');
          } catch (err) {
            throw new CliError(`cannot read --data-file ${flags.dataFile} (${(err as NodeJS.ErrnoException).code})`);
          }
        }
        try {
          JSON.parse(data);
        } catch {
          throw usageError(`${flags.dataFile ? '--data-file' : '--data'} must be JSON, e.g. --data '{"n": 10}'`);
        }
        const query = new URLSearchParams();
        if (flags.async || flags.follow) query.set('async', '1');
        if (flags.callback) query.set('callback', flags.callback);
        if (flags.version) query.set('version', flags.version);
        const qs = query.size ? `?${query}` : '';
        const { body } = await clientOf(flags).request<Record<string, unknown>>(
          'POST',
          `/v1/functions/${refPath(ref)}/invoke${qs}`,
          { body: data, notFound: functionNotFound(ref, flags.version) },
        );
        if (flags.follow && !flags.async) {
          const id = String(body.executionId);
          await followLogs(flags, id, (text) => void (flags.json ? process.stderr : process.stdout).write(text));
          const { body: record } = await clientOf(flags).request<Record<string, unknown>>(
            'GET',
            `/v1/executions/${id}`,
          );
          // The logs were streamed already: the record is printed without them.
          print(flags, record, () => printRecord({ ...record, logs: '' }));
          return record.status === 'succeeded' ? 0 : 1;
        }
        print(flags, body, () =>
          flags.async
            ? console.log(
                `accepted: execution ${body.executionId} — see it with \`strata exec get ${body.executionId}\``,
              )
            : printRecord(body),
        );
        if (flags.async) return 0;
        return body.status === 'succeeded' ? 0 : 1;
      }),
    );
}
