/**
 * The process logger: pino with ISO timestamps and level names, as JSON lines when stdout is not
 * a terminal (or logFormat=json) and as readable lines when it is (or logFormat=pretty). The
 * readable form is a small formatter over pino's own JSON (no pino-pretty dependency).
 */
import pino, { type Logger } from 'pino';

export type LogFormat = 'auto' | 'pretty' | 'json';

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Fields on every line (service name). */
  base?: Record<string, unknown>;
  /** Where lines go (default stdout). */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

const LEVEL_COLOURS: Record<string, string> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[35m',
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const HIDDEN = new Set(['time', 'level', 'msg', 'service', 'pid', 'hostname', 'name']);

const showValue = (value: unknown): string => {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value);
};

/** One pino JSON line as `time LEVEL message key=value ...` (colours when `colour`). */
export function prettyLine(json: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = String(entry.level ?? 'info');
  const time = String(entry.time ?? new Date().toISOString());
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(entry)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    if (key === 'err' && value && typeof value === 'object') {
      const err = value as { message?: string; stack?: string };
      fields.push(`err=${showValue(err.message ?? '')}`);
      if (level === 'error' || level === 'fatal')
        stack = err.stack ? `\n    ${err.stack.split('\n').slice(1).join('\n    ').trim()}` : '';
      continue;
    }
    fields.push(`${key}=${showValue(value)}`);
  }
  const label = level.toUpperCase().padEnd(5);
  const rest = fields.length ? ` ${colour ? DIM : ''}${fields.join(' ')}${colour ? RESET : ''}` : '';
  const head = colour ? `${DIM}${time}${RESET} ${LEVEL_COLOURS[level] ?? ''}${label}${RESET}` : `${time} ${label}`;
  return `${head} ${String(entry.msg ?? '')}${rest}${stack}\n`;
}

export const isPretty = (format: LogFormat, out: { isTTY?: boolean } = process.stdout): boolean =>
  format === 'pretty' || (format === 'auto' && out.isTTY === true);

export function createLogger(options: LoggerOptions): Logger {
  const out = options.out ?? process.stdout;
  const pinoOptions = {
    level: options.level,
    base: options.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (!isPretty(options.format, out)) return out === process.stdout ? pino(pinoOptions) : pino(pinoOptions, out);
  const colour = out.isTTY === true && !process.env.NO_COLOR;
  return pino(pinoOptions, { write: (line: string) => out.write(prettyLine(line, colour)) });
}
