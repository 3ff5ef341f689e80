/**
 * Container review from the image's configuration (`docker image inspect`): the user it runs as,
 * its entrypoint, the ports it exposes. The image is local (nothing is pulled).
 */
import { execFile } from 'node:child_process';
import { z } from 'zod';
import type { RawFinding } from './types.ts';

const configSchema = z
  .object({
    User: z.string().optional().nullable(),
    Entrypoint: z.array(z.string()).optional().nullable(),
    ExposedPorts: z.record(z.string(), z.unknown()).optional().nullable(),
  })
  .passthrough();

export function reviewContainer(image: string, timeoutMs = 10_000): Promise<RawFinding[]> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      ['image', 'inspect', '--format', '{{json .Config}}', '--', image],
      { timeout: timeoutMs, maxBuffer: 1024 ** 2 },
      (err, stdout) => {
        if (err)
          return resolve([
            {
              rule: 'container-inspect-unavailable',
              message: `cannot inspect image ${image}: ${(err.message.split('\n')[1] ?? err.message).slice(0, 200)}`,
            },
          ]);
        const parsed = configSchema.safeParse(
          (() => {
            try {
              return JSON.parse(stdout);
            } catch {
              return undefined;
            }
          })(),
        );
        if (!parsed.success)
          return resolve([{ rule: 'container-inspect-unavailable', message: 'the image configuration is unreadable' }]);
        const findings: RawFinding[] = [];
        const user = parsed.data.User ?? '';
        if (user === '' || user === 'root' || user === '0' || user.startsWith('0:') || user.startsWith('root:'))
          findings.push({ rule: 'container-root-user', message: `image ${image} runs as root (User "${user}")` });
        if (parsed.data.Entrypoint && parsed.data.Entrypoint.length > 0)
          findings.push({
            rule: 'container-entrypoint',
            message: `image ${image} has entrypoint ${JSON.stringify(parsed.data.Entrypoint)}`,
          });
        const ports = Object.keys(parsed.data.ExposedPorts ?? {});
        if (ports.length > 0)
          findings.push({
            rule: 'container-ports',
            message: `image ${image} exposes ${ports.join(', ')} (containers run with no network)`,
          });
        resolve(findings);
      },
    );
  });
}
