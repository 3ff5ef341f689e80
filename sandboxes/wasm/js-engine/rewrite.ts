/**
 * Deploy-time work for a standard-trust JS function: parse its ES module (acorn) and rewrite it
 * into a strict script body that returns the default export, which the engine component
 * evaluates with `Function(body)()` (or an async function when the module uses top-level
 * await). Nothing is compiled per function: the engine is built once (build-engine.ts).
 *
 * Refused with invalid_code, naming the line: syntax errors, imports (static, dynamic, re-exports,
 * import.meta — a function is one self-contained module), and a module without a default export.
 */
import { type Node, type Options, parse } from 'acorn';
import { fullAncestor } from 'acorn-walk';
import { StrataError } from '../../../src/core/errors.ts';

/** Bump when the rewrite's output changes (part of the per-function cache key). */
export const REWRITE_VERSION = 1;

export interface RewrittenJs {
  /** Script body: `"use strict";` + the module without its exports + `return <default>;`. */
  body: string;
  /** The module awaits at top level: the body must run as an async function. */
  asyncBody: boolean;
}

type Located = Node;

const refuse = (message: string, node?: Located) =>
  new StrataError(
    'invalid_code',
    node?.loc ? `${message} (line ${node.loc.start.line}, column ${node.loc.start.column + 1})` : message,
  );

const OPTIONS: Options = { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true, locations: true };

type AnyNode = Located & Record<string, unknown>;

export function rewriteModule(source: string): RewrittenJs {
  let program: AnyNode;
  try {
    program = parse(source, OPTIONS) as unknown as AnyNode;
  } catch (error) {
    throw new StrataError('invalid_code', `the JS function does not parse: ${(error as Error).message}`);
  }
  let asyncBody = false;
  fullAncestor(program as unknown as Node, (node, _state, ancestors) => {
    const n = node as AnyNode;
    if (n.type === 'ImportExpression')
      throw refuse('dynamic import() is not available: bundle dependencies into the module', n);
    if (n.type === 'MetaProperty' && (n.meta as AnyNode).name === 'import')
      throw refuse('import.meta is not available in a Strata function', n);
    const awaits = n.type === 'AwaitExpression' || (n.type === 'ForOfStatement' && n.await === true);
    if (awaits && !ancestors.some((a) => /Function/.test(a.type))) asyncBody = true;
  });

  const name = uniqueName(source);
  // Edits as [start, end, replacement], applied back to front.
  const edits: Array<[number, number, string]> = [];
  let exportedDefault: string | undefined;
  for (const statement of program.body as AnyNode[]) {
    switch (statement.type) {
      case 'ImportDeclaration':
        throw refuse(
          `imports are not available in Strata functions ("${(statement.source as { value: string }).value}"); bundle dependencies into the module`,
          statement,
        );
      case 'ExportAllDeclaration':
        throw refuse('re-exports (export * from) are not available: bundle dependencies into the module', statement);
      case 'ExportNamedDeclaration': {
        if (statement.source)
          throw refuse(
            're-exports (export ... from) are not available: bundle dependencies into the module',
            statement,
          );
        const declaration = statement.declaration as AnyNode | null;
        if (declaration) {
          edits.push([statement.start, declaration.start, '']);
          break;
        }
        for (const spec of statement.specifiers as AnyNode[]) {
          const exported = spec.exported as AnyNode;
          if ((exported.name ?? exported.value) === 'default') exportedDefault = (spec.local as AnyNode).name as string;
        }
        edits.push([statement.start, statement.end, '']);
        break;
      }
      case 'ExportDefaultDeclaration': {
        const declaration = statement.declaration as AnyNode;
        const id = declaration.id as AnyNode | null | undefined;
        if ((declaration.type === 'FunctionDeclaration' || declaration.type === 'ClassDeclaration') && id) {
          edits.push([statement.start, declaration.start, '']);
          exportedDefault = id.name as string;
        } else {
          edits.push([statement.start, declaration.start, `const ${name} = `]);
          edits.push([declaration.end, declaration.end, ';']);
          exportedDefault = name;
        }
        break;
      }
    }
  }
  if (exportedDefault === undefined) {
    throw new StrataError(
      'invalid_code',
      'a JS function must have a default export: export default async function (input, ctx) { ... }',
    );
  }
  let text = source;
  for (const [start, end, replacement] of edits.sort((a, b) => b[0] - a[0] || b[1] - a[1])) {
    text = text.slice(0, start) + replacement + text.slice(end);
  }
  // A hashbang is valid at the top of a module, not inside a function body.
  if (text.startsWith('#!')) text = `//${text.slice(2)}`;
  // Same line as the user's first line, so line numbers in stacks stay the user's.
  return { body: `"use strict";${text}\n;return ${exportedDefault};`, asyncBody };
}

function uniqueName(source: string): string {
  let name = '__strataDefault';
  while (source.includes(name)) name += '_';
  return name;
}
