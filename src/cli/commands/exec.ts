/** `strata exec get <id>`: show an execution record. */
import { parse } from '../args.ts';
import { StrataClient } from '../client.ts';
import { printRecord } from '../print.ts';

export async function runExecCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, {});
  const client = new StrataClient({ url: values.url, token: values.token });
  if (sub === 'get' && positionals[0]) {
    const { body } = await client.request<Record<string, unknown>>(
      'GET',
      `/v1/executions/${encodeURIComponent(positionals[0])}`,
    );
    if (values.json) console.log(JSON.stringify(body, null, 2));
    else printRecord(body);
    return 0;
  }
  console.error('usage: strata exec get <execution-id> [--json]');
  return 2;
}
