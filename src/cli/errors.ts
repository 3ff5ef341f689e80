/**
 * Errors the CLI prints: one line on stderr, worded for the command line (flags, variables,
 * commands to run), never for HTTP. Exit codes: 1 a failure, 2 a usage error.
 */

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A bad flag value or a missing argument: exit 2, like commander's own parse errors. */
export const usageError = (message: string) => new CliError(message, 2);

/** An answer of the worker's API that is not 2xx. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  /** How the command words a 404 for what it asked for. */
  notFound: ((err: ApiError) => string) | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** What the CLI says about an API error. */
export function cliMessageOf(err: ApiError): string {
  switch (err.code) {
    case 'not_found':
      return err.notFound ? err.notFound(err) : err.message;
    case 'unauthorized':
      if (/expired|revoked/.test(err.message))
        return `${err.message.replace(/;.*$/, '')} — check \`--token\` or STRATA_TOKEN`;
      return /not accepted/.test(err.message)
        ? 'this worker does not accept that token — check `--token` or STRATA_TOKEN'
        : 'this worker needs a token — pass `--token` or set STRATA_TOKEN';
    case 'forbidden':
      return /token/i.test(err.message)
        ? 'this worker does not accept that token — check `--token` or STRATA_TOKEN'
        : err.message;
    case 'payload_too_large':
      return 'the upload is larger than this worker accepts (its bodyLimit, STRATA_BODY_LIMIT, or wasm.maxUpload)';
    case 'capacity_exhausted':
      return `the worker is full — ${err.message.replace(/^the worker is full\s*/, '')}`;
    default:
      return err.message;
  }
}

/** One line, whatever the message holds (scripts read the first line of stderr). */
export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();
