/**
 * `strata logs <id> [-f]`: an execution's logs; with -f (--follow) they stream while it runs
 * (GET /v1/executions/:id/logs?follow=1, Server-Sent Events) until its end, which is printed on
 * stderr; the exit code is 0 only when it succeeded. `strata fn invoke NAME --follow` uses the
 * same stream after an async invoke.
 */
import type { Command } from 'commander';
import { workerUrl } from '../client.ts';
import { action, type ClientFlags, clientCommand, clientOf } from '../command-kit.ts';
import { ApiError, CliError } from '../errors.ts';
import { sseEvents } from '../sse-events.ts';

interface LogsFlags extends ClientFlags {
  follow?: boolean;
}

/** Stream one execution's logs to stdout; resolves with its final status. */
export async function followLogs(
  flags: ClientFlags,
  id: string,
  write: (text: string) => unknown = (text) => process.stdout.write(text),
): Promise<string> {
  const token = flags.token ?? (process.env.STRATA_TOKEN || undefined);
  const url = `${workerUrl(flags.url)}/v1/executions/${encodeURIComponent(id)}/logs?follow=1`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
  } catch (err) {
    throw new CliError(`cannot reach the worker at ${workerUrl(flags.url)} (${(err as Error).message}) — check --url`);
  }
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(
      res.status,
      body.error?.code ?? `http_${res.status}`,
      body.error?.message ?? `HTTP ${res.status}`,
    );
  }
  for await (const { event, data } of sseEvents(res)) {
    if (!data) continue;
    const parsed = JSON.parse(data) as { text?: string; status?: string };
    if (event === 'log' && typeof parsed.text === 'string') write(parsed.text);
    else if (event === 'end') return String(parsed.status);
  }
  throw new CliError(`the log stream of ${id} closed before its end — run \`strata logs -f ${id}\` again`);
}

export function register(program: Command): void {
  clientCommand(program, 'logs', "print an execution's logs; -f follows a running one to its end")
    .argument('<id>', 'the execution id (from invoke, or `strata exec list`)')
    .option('-f, --follow', 'stream the logs live until the execution ends')
    .action(
      action(async (id: string, flags: LogsFlags) => {
        if (flags.follow) {
          const status = await followLogs(flags, id);
          process.stderr.write(`— ${id} ended: ${status}\n`);
          return status === 'succeeded' ? 0 : 1;
        }
        const { body } = await clientOf(flags).request<{ status: string; logs: string }>(
          'GET',
          `/v1/executions/${encodeURIComponent(id)}/logs`,
          { notFound: () => `no execution ${id}; ids come from invoke (executionId / id)` },
        );
        if (flags.json) console.log(JSON.stringify(body, null, 2));
        else process.stdout.write(body.logs);
        return 0;
      }),
    );
}
