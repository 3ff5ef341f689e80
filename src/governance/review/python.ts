/**
 * Python review through Python's own `ast` module, run as a script in the process tier's sandbox
 * (bubblewrap, cgroup, no network), never in the worker: the reviewer is itself a UDF. Its output
 * is hostile like any sandbox's: validated (zod) before use.
 */
import { z } from 'zod';
import type { Artifact, SandboxDriver } from '../../core/driver.ts';
import type { ResolvedLimits } from '../../core/limits.ts';
import { LogBudget } from '../../core/log-budget.ts';
import { sha256 } from '../../registry/blob-store.ts';
import { parseManifest } from '../../registry/registry.ts';
import type { RawFinding } from './types.ts';

const REVIEWER = `
import ast, json, sys
req = json.load(sys.stdin)
src = req["source"]
network = req["network"]
out = []
def add(rule, msg, node):
    out.append({"rule": rule, "message": msg, "line": getattr(node, "lineno", 1)})
try:
    tree = ast.parse(src)
except SyntaxError as e:
    print(json.dumps([{"rule": "py-syntax", "message": "does not parse: %s" % e.msg, "line": e.lineno or 1}]))
    sys.exit(0)
NET = {"socket", "urllib", "http", "requests", "httpx", "aiohttp", "ftplib", "smtplib", "telnetlib", "ssl"}
PROC = {"subprocess", "pty", "multiprocessing"}
FFI = {"ctypes", "cffi"}
for node in ast.walk(tree):
    mods = []
    if isinstance(node, ast.Import):
        mods = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
        mods = [node.module]
    for m in mods:
        top = m.split(".")[0]
        if top in PROC: add("py-subprocess", "imports %s: runs other programs" % m, node)
        if top in FFI: add("py-ctypes", "imports %s: calls native code" % m, node)
        if top in NET and not network: add("py-socket", "imports %s without network permission" % m, node)
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else None
        if name == "exec": add("py-exec", "calls exec(): code built at run time", node)
        if name in ("eval", "compile"): add("py-eval", "calls %s(): code built at run time" % name, node)
        if name == "__import__": add("py-exec", "calls __import__(): imports chosen at run time", node)
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "os" and f.attr in ("system", "popen", "execv", "execve", "execvp", "spawnv", "fork"):
            add("py-subprocess", "calls os.%s: runs other programs" % f.attr, node)
print(json.dumps(out[:200]))
`;

const findingsSchema = z
  .array(
    z
      .object({ rule: z.string().regex(/^py-[a-z-]+$/), message: z.string().max(500), line: z.number().int().min(1) })
      .strict(),
  )
  .max(200);

const reviewerArtifact = (): Artifact => {
  const manifest = parseManifest({
    name: 'strata-py-review',
    runtime: 'script',
    interpreter: 'python3',
    trust: 'untrusted',
    source: REVIEWER,
    limits: { timeoutMs: 15_000, memoryMb: 128 },
  });
  const code = new TextEncoder().encode(REVIEWER);
  return { digest: sha256(`strata-py-review\n${REVIEWER}`), name: manifest.name, version: 1, manifest, code };
};

/** Review a Python script in the process tier's sandbox; undefined findings when the tier cannot run it. */
export async function reviewPython(
  source: string,
  network: boolean,
  driver: SandboxDriver | undefined,
  limits: ResolvedLimits,
): Promise<RawFinding[]> {
  if (!driver || !driver.health().available)
    return [
      {
        rule: 'py-review-unavailable',
        message: `the process tier that runs the Python reviewer is not available${driver ? `: ${driver.health().reason}` : ''}`,
      },
    ];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('review timeout')), 20_000);
  try {
    const prepared = await driver.prepare(reviewerArtifact());
    const inputJson = JSON.stringify({ source, network });
    const outcome = await driver.run(
      prepared,
      { id: `review-${Date.now()}`, input: { source, network }, inputJson, priority: 0 },
      {
        deadline: Date.now() + 15_000,
        limits: { ...limits, timeoutMs: 15_000, memoryMb: 128 },
        signal: controller.signal,
        logs: new LogBudget(4096),
      },
    );
    const parsed = outcome.status === 'succeeded' ? findingsSchema.safeParse(outcome.result) : undefined;
    if (!parsed?.success)
      return [
        {
          rule: 'py-review-unavailable',
          message: `the Python reviewer ended ${outcome.status}${outcome.error ? ` (${outcome.error.message.slice(0, 200)})` : ''}`,
        },
      ];
    return parsed.data;
  } finally {
    clearTimeout(timer);
  }
}
