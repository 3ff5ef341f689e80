/** How the CLI words a 404 for a function reference (`hello`, `hello@3`, `hello@prod`). */
import type { ApiError } from '../../errors.ts';

export const functionNotFound =
  (ref: string, version?: string) =>
  (err: ApiError): string => {
    const at = ref.indexOf('@');
    const name = at < 0 ? ref : ref.slice(0, at);
    const which = version ?? (at < 0 ? undefined : ref.slice(at + 1));
    // The worker's details say whether the function or only the version/alias is missing.
    if (which !== undefined && (err.details?.version !== undefined || err.details?.alias !== undefined)) {
      return /^\d+$/.test(which)
        ? `function ${name} has no version ${which} — see its versions with \`strata fn get ${name}\``
        : `function ${name} has no alias ${which} — set it with \`strata fn promote ${name} VERSION --alias ${which}\``;
    }
    return `no function named ${name} — deploy it with \`strata fn deploy\``;
  };

/** A 404 for an execution id. */
export const executionNotFound = (id: string) => () =>
  `no execution ${id} — ids come from \`strata fn invoke\` (the "execution" line, or --async)`;
