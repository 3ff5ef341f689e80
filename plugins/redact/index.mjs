// redact (post): masks configured patterns in the result (every string in it) and the logs, and
// notes how many were masked under record.plugins.annotations.redact.
const BUILTINS = {
  // sk-..., sk_live_..., AKIA... (AWS), ghp_... (GitHub), xox?-... (Slack), api_key=... pairs
  apiKey:
    /\b(?:sk[-_](?:live[-_]|test[-_])?[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,})\b|(?<=\b(?:api[_-]?key|apikey|token|secret)["']?\s*[:=]\s*["']?)[A-Za-z0-9_\-.]{12,}/gi,
  bearer: /(?<=\bBearer\s+)[A-Za-z0-9\-._~+/]+=*/g,
  email: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g,
};

export default (ctx) => {
  const mask = String(ctx.config.mask ?? '[REDACTED]');
  const patterns = [
    ...(ctx.config.builtins ?? Object.keys(BUILTINS)).map((name) => {
      if (!BUILTINS[name])
        throw new Error(`unknown builtin pattern "${name}" (known: ${Object.keys(BUILTINS).join(', ')})`);
      return BUILTINS[name];
    }),
    ...(ctx.config.patterns ?? []).map((p) => new RegExp(p, 'g')),
  ];
  const masked = ctx.metrics.counter('masked_total', 'Secrets masked by the redact plugin', ['where']);
  let count = 0;
  const scrub = (text) => {
    let out = text;
    for (const re of patterns)
      out = out.replace(re, () => {
        count++;
        return mask;
      });
    return out;
  };
  const walk = (value, depth = 0) => {
    if (typeof value === 'string') return scrub(value);
    if (depth > 64 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, depth + 1)]));
  };
  return {
    post(record) {
      count = 0;
      const change = {};
      if (record.status === 'succeeded' && record.result !== undefined) {
        change.result = walk(record.result);
        if (count > 0) masked.inc({ where: 'result' }, count);
      }
      const inResult = count;
      if (record.logs) {
        change.logs = scrub(record.logs);
        if (count > inResult) masked.inc({ where: 'logs' }, count - inResult);
      }
      if (count === 0) return;
      return { ...change, annotations: { masked: count } };
    },
  };
};
