/**
 * JS review over the module's AST (acorn): eval, new Function, dynamic import(), WebAssembly,
 * Atomics.wait, and obfuscation signals (very long lines, huge string literals). A global name
 * counts only where it is not shadowed by a declaration of the module (a local `eval` is fine).
 */
import { type Node, parse } from 'acorn';
import { fullAncestor } from 'acorn-walk';
import type { RawFinding } from './types.ts';

type AnyNode = Node & Record<string, unknown> & { loc?: { start: { line: number } } };

export interface JsReviewOptions {
  maxLineLength: number;
  maxStringLength: number;
}

const lineOf = (node: AnyNode) => node.loc?.start.line;

export function reviewJs(source: string, options: JsReviewOptions): RawFinding[] {
  const findings: RawFinding[] = [];
  const add = (rule: string, message: string, node?: AnyNode) => {
    const line = node ? lineOf(node) : undefined;
    findings.push({ rule, message, ...(line !== undefined ? { line } : {}) });
  };
  source.split('\n').forEach((text, i) => {
    if (text.length > options.maxLineLength)
      findings.push({
        rule: 'js-long-line',
        message: `line of ${text.length} characters (over review.maxLineLength ${options.maxLineLength}): a sign of minified or obfuscated code`,
        line: i + 1,
      });
  });
  let program: AnyNode;
  try {
    program = parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      allowHashBang: true,
      locations: true,
    }) as unknown as AnyNode;
  } catch (err) {
    add('js-parse', `the module does not parse: ${(err as Error).message}`);
    return findings;
  }
  const declared = declaredNames(program);
  const isGlobal = (node: unknown, name: string) =>
    (node as AnyNode | undefined)?.type === 'Identifier' &&
    (node as { name: string }).name === name &&
    !declared.has(name);
  /** `eval`, `globalThis.eval`, `window["eval"]`... */
  const names = (node: AnyNode, name: string): boolean => {
    if (isGlobal(node, name)) return true;
    if (node.type !== 'MemberExpression') return false;
    const obj = node.object as AnyNode;
    const globalObj = ['globalThis', 'self', 'window', 'global'].some((g) => isGlobal(obj, g));
    return globalObj && propertyName(node) === name;
  };

  fullAncestor(program as Node, (n, _state, ancestors) => {
    const node = n as AnyNode;
    const parent = ancestors[ancestors.length - 2] as AnyNode | undefined;
    switch (node.type) {
      case 'Identifier': {
        // A reference, not a property name or key.
        if (parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
        if (parent?.type === 'Property' && parent.key === node && !parent.computed && !parent.shorthand) return;
        if (isGlobal(node, 'eval')) add('js-eval', 'uses eval: code built at run time is not reviewed', node);
        if (isGlobal(node, 'WebAssembly'))
          add('js-webassembly', 'uses WebAssembly: compiles code the review cannot see', node);
        return;
      }
      case 'MemberExpression': {
        if (names(node, 'eval') && !isGlobal(node, 'eval') && node.type === 'MemberExpression')
          add('js-eval', 'uses eval through the global object', node);
        if (isGlobal(node.object, 'Atomics') && ['wait', 'waitAsync'].includes(propertyName(node) ?? ''))
          add('js-atomics-wait', `uses Atomics.${propertyName(node)}: can block the isolate's thread`, node);
        if (names(node, 'WebAssembly') && !isGlobal(node, 'WebAssembly'))
          add('js-webassembly', 'uses WebAssembly through the global object', node);
        return;
      }
      case 'NewExpression':
      case 'CallExpression': {
        const callee = node.callee as AnyNode;
        if (names(callee, 'Function'))
          add('js-new-function', 'builds a function from text (Function constructor): code not reviewed', node);
        return;
      }
      case 'ImportExpression':
        add('js-dynamic-import', 'uses dynamic import(): loads code the review cannot see', node);
        return;
      case 'Literal':
        if (typeof node.value === 'string' && node.value.length > options.maxStringLength)
          add(
            'js-long-string',
            `string literal of ${node.value.length} characters (over review.maxStringLength ${options.maxStringLength})`,
            node,
          );
        return;
      case 'TemplateElement': {
        const cooked = (node.value as { raw: string }).raw;
        if (cooked.length > options.maxStringLength)
          add('js-long-string', `template text of ${cooked.length} characters (over review.maxStringLength)`, node);
        return;
      }
    }
  });
  return findings;
}

function propertyName(node: AnyNode): string | undefined {
  const prop = node.property as AnyNode;
  if (!node.computed && prop.type === 'Identifier') return prop.name as string;
  if (prop.type === 'Literal' && typeof prop.value === 'string') return prop.value;
  return undefined;
}

/** Names the module declares anywhere (vars, functions, classes, params, imports): they shadow globals. */
function declaredNames(program: AnyNode): Set<string> {
  const names = new Set<string>();
  const pattern = (p: AnyNode | null | undefined): void => {
    if (!p) return;
    if (p.type === 'Identifier') names.add(p.name as string);
    else if (p.type === 'ObjectPattern')
      for (const prop of p.properties as AnyNode[]) pattern((prop.value ?? prop.argument) as AnyNode);
    else if (p.type === 'ArrayPattern') for (const el of p.elements as AnyNode[]) pattern(el);
    else if (p.type === 'RestElement') pattern(p.argument as AnyNode);
    else if (p.type === 'AssignmentPattern') pattern(p.left as AnyNode);
  };
  fullAncestor(program as Node, (n) => {
    const node = n as AnyNode;
    if (node.type === 'VariableDeclarator') pattern(node.id as AnyNode);
    else if (
      node.type === 'FunctionDeclaration' ||
      node.type === 'FunctionExpression' ||
      node.type === 'ArrowFunctionExpression'
    ) {
      if (node.type === 'FunctionDeclaration') pattern(node.id as AnyNode);
      for (const p of node.params as AnyNode[]) pattern(p);
    } else if (node.type === 'ClassDeclaration') pattern(node.id as AnyNode);
    else if (node.type === 'CatchClause') pattern(node.param as AnyNode);
    else if (
      node.type === 'ImportSpecifier' ||
      node.type === 'ImportDefaultSpecifier' ||
      node.type === 'ImportNamespaceSpecifier'
    )
      pattern(node.local as AnyNode);
  });
  return names;
}
