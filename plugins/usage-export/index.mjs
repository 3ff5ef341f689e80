// usage-export (monitor): one JSON line per finished invocation, appended to config.file
// (relative paths are taken from the worker's working directory); when the file passes
// config.maxBytes it is renamed to <file>.1 (older ones shift to .2 ... up to config.keep).
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export default (ctx) => {
  const file = resolve(String(ctx.config.file ?? 'usage.jsonl'));
  const maxBytes = Number(ctx.config.maxBytes ?? 10 * 1024 * 1024);
  const keep = Math.max(1, Number(ctx.config.keep ?? 3));
  const lines = ctx.metrics.counter('lines_total', 'Usage lines written by usage-export');
  let size = 0;
  const rotate = () => {
    rmSync(`${file}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    renameSync(file, `${file}.1`);
    size = 0;
  };
  return {
    init() {
      mkdirSync(dirname(file), { recursive: true });
      size = existsSync(file) ? statSync(file).size : 0;
    },
    onEvent(event) {
      if (event.type !== 'finish') return;
      const r = event.data;
      const line = `${JSON.stringify({
        at: r.timings?.finishedAt ?? event.at,
        id: r.id,
        function: r.function?.name,
        version: r.function?.version,
        status: r.status,
        tier: r.tier,
        ...(r.tenant ? { tenant: r.tenant } : {}),
        usage: r.usage,
      })}\n`;
      if (size > 0 && size + line.length > maxBytes) rotate();
      appendFileSync(file, line);
      size += Buffer.byteLength(line);
      lines.inc();
    },
  };
};
