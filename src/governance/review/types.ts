/** What a review finds and how it ends (docs/governance.md "Review rules"). */
export type Severity = 'info' | 'warn' | 'reject';
export type Verdict = 'pass' | 'warn' | 'reject';

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  line?: number;
}

export interface ReviewReport {
  verdict: Verdict;
  findings: Finding[];
  reviewedAt: string;
  reviewer: string;
}

/** What a rule reports before the configured severity is applied. */
export interface RawFinding {
  rule: string;
  message: string;
  line?: number;
}

/** Default severity of every rule; `review.rules` overrides them (or turns one `off`). */
export const DEFAULT_SEVERITY: Record<string, Severity> = {
  'js-parse': 'info',
  'js-eval': 'warn',
  'js-new-function': 'warn',
  'js-dynamic-import': 'warn',
  'js-webassembly': 'warn',
  'js-atomics-wait': 'warn',
  'js-long-line': 'info',
  'js-long-string': 'info',
  'sh-shellcheck': 'info',
  'sh-download-exec': 'reject',
  'sh-dev-tcp': 'reject',
  'sh-netcat': 'warn',
  'sh-base64-exec': 'reject',
  'sh-review-unavailable': 'info',
  'py-syntax': 'info',
  'py-exec': 'warn',
  'py-eval': 'warn',
  'py-subprocess': 'warn',
  'py-socket': 'warn',
  'py-ctypes': 'warn',
  'py-review-unavailable': 'warn',
  'wasm-import': 'info',
  'wasm-memory-unbounded': 'warn',
  'wasm-size': 'warn',
  'wasm-parse': 'info',
  'container-root-user': 'warn',
  'container-entrypoint': 'info',
  'container-ports': 'info',
  'container-inspect-unavailable': 'info',
};

export const RULES = Object.keys(DEFAULT_SEVERITY);

/** Apply severities (config overrides defaults; `off` drops a finding) and decide the verdict. */
export function judge(
  raw: readonly RawFinding[],
  overrides: Record<string, 'off' | Severity>,
  reviewer: string,
  now = new Date(),
): ReviewReport {
  const findings: Finding[] = [];
  for (const f of raw) {
    const severity = overrides[f.rule] ?? DEFAULT_SEVERITY[f.rule] ?? 'warn';
    if (severity === 'off') continue;
    findings.push({ rule: f.rule, severity, message: f.message, ...(f.line !== undefined ? { line: f.line } : {}) });
  }
  const verdict: Verdict = findings.some((f) => f.severity === 'reject')
    ? 'reject'
    : findings.some((f) => f.severity === 'warn')
      ? 'warn'
      : 'pass';
  return { verdict, findings, reviewedAt: now.toISOString(), reviewer };
}
