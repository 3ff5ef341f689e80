// template-runtime (executor): the `template` runtime. A function's `source` is text with
// {{path.to.field}} placeholders filled from the input ({{.}} is the whole input as JSON);
// `{{#each items}}...{{/each}}` repeats a block. No user code runs: the tier only substitutes
// text, so every trust level may use it. Limits honoured: timeoutMs (the deadline) and logBytes.
const lookup = (value, path) => {
  if (path === '.') return value;
  let v = value;
  for (const part of path.split('.')) v = v == null ? undefined : v[part];
  return v;
};
const show = (v) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function render(template, input, deadline) {
  const each = /\{\{#each ([\w.]+)\}\}([\s\S]*?)\{\{\/each\}\}/g;
  const expanded = template.replace(each, (_, path, body) => {
    const list = lookup(input, path);
    if (!Array.isArray(list)) return '';
    return list
      .map((item) => {
        if (Date.now() > deadline) throw Object.assign(new Error('deadline'), { timeout: true });
        return body.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, p) =>
          show(lookup(p === 'this' ? item : { ...input, this: item }, p === 'this' ? '.' : p)),
        );
      })
      .join('');
  });
  return expanded.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, p) => show(lookup(input, p)));
}

export default (ctx) => {
  const maxOutput = Number(ctx.config.maxOutputBytes ?? 65536);
  const renders = ctx.metrics.counter('renders_total', 'Templates rendered', ['status']);
  return {
    runtimes: ['template'],
    driver() {
      return {
        tier: 'template',
        capabilities: {
          runtimes: ['template'],
          measures: ['wallMs'],
          enforces: ['timeoutMs', 'logBytes'],
          network: 'none',
          ownProcesses: false,
        },
        async start() {},
        health() {
          return { available: true, details: { engine: 'template-runtime 1.0.0' } };
        },
        prepare(artifact) {
          // The registry keeps a function's `source` as the artifact's code bytes.
          const source = artifact.code?.length ? new TextDecoder().decode(artifact.code) : artifact.manifest.source;
          if (typeof source !== 'string' || source === '')
            throw new Error('a template function needs "source": the template text');
          const open = (source.match(/\{\{#each /g) ?? []).length;
          const close = (source.match(/\{\{\/each\}\}/g) ?? []).length;
          if (open !== close) throw new Error(`unbalanced {{#each}} blocks (${open} opened, ${close} closed)`);
          return { source, name: artifact.name };
        },
        async run(prepared, invocation, options) {
          options.onStart();
          if (options.signal.aborted) return { status: 'killed', error: { code: 'cancelled', message: 'cancelled' } };
          try {
            const out = render(prepared.source, invocation.input, options.deadline);
            options.logs.write(`rendered ${out.length} characters\n`);
            if (Buffer.byteLength(out) > maxOutput) {
              renders.inc({ status: 'failed' });
              return {
                status: 'failed',
                error: { code: 'result_too_large', message: `the output passes ${maxOutput} bytes` },
              };
            }
            renders.inc({ status: 'succeeded' });
            return { status: 'succeeded', result: out };
          } catch (err) {
            if (err.timeout)
              return {
                status: 'timeout',
                error: { code: 'timeout', message: 'the template did not render before the deadline' },
              };
            renders.inc({ status: 'failed' });
            return { status: 'failed', error: { code: 'function_error', message: err.message } };
          }
        },
        async dispose() {},
      };
    },
  };
};
