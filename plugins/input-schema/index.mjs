// input-schema (pre): validates the input against the function's manifest field `inputSchema`.
// Compiled schemas are cached by function version, so a schema compiles once per version.
import Ajv from 'ajv';

export default (ctx) => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const compiled = new Map();
  const maxErrors = Number(ctx.config.maxErrors ?? 10);
  return {
    pre(invocation) {
      const schema = invocation.function.inputSchema;
      if (!schema) return;
      const key = `${invocation.function.name}@${invocation.function.version}`;
      let validate = compiled.get(key);
      if (!validate) {
        try {
          validate = ajv.compile(schema);
        } catch (err) {
          return { reject: `the function's inputSchema is not a valid JSON Schema: ${err.message}` };
        }
        compiled.set(key, validate);
      }
      if (validate(invocation.input)) return;
      const problems = (validate.errors ?? [])
        .slice(0, maxErrors)
        .map(
          (e) =>
            `${e.instancePath || '(input)'} ${e.message}${e.params?.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : ''}`,
        );
      return { reject: `the input does not match the function's inputSchema: ${problems.join('; ')}` };
    },
  };
};
