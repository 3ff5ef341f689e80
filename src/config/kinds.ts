/**
 * What kind of value a setting holds beyond its zod type: a duration or a size (people must
 * write a unit), or a secret (never printed). The unit and secret factories mark their schemas;
 * these helpers find the marks and the object shapes through zod's wrappers (default, prefault,
 * optional, pipe), so loadConfig can check unknown keys and bare numbers per setting path.
 */
import type { z } from 'zod';

export type SettingKind = 'duration' | 'size' | 'secret';

const KINDS = new WeakMap<object, SettingKind>();

export function markKind<T extends z.ZodType>(schema: T, kind: SettingKind): T {
  KINDS.set(schema, kind);
  return schema;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas a wrapper stands for, outermost first (default -> pipe -> union ...). */
function layers(schema: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = [];
  let node: z.ZodType | undefined = schema;
  while (node && out.length < 16) {
    out.push(node);
    const def = defOf(node);
    if (def.innerType) node = def.innerType;
    // z.preprocess(f, s) is pipe(transform, s); s.transform(f) is pipe(s, transform).
    else if (def.type === 'pipe' && def.in && def.out) node = defOf(def.in).type === 'transform' ? def.out : def.in;
    else node = undefined;
  }
  return out;
}

export function kindOf(schema: z.ZodType): SettingKind | undefined {
  for (const layer of layers(schema)) {
    const kind = KINDS.get(layer);
    if (kind) return kind;
  }
  return undefined;
}

/** The fields of an object schema (through wrappers), or undefined when it is not one. */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  for (const layer of layers(schema)) {
    if (defOf(layer).type === 'object') return (layer as unknown as { shape: Record<string, z.ZodType> }).shape;
  }
  return undefined;
}

/** Whether a schema takes arbitrary keys (a record, or a union with one): no unknown-key check inside. */
export function isOpenMap(schema: z.ZodType): boolean {
  return layers(schema).some((layer) => {
    const def = defOf(layer);
    if (def.type === 'record') return true;
    return def.type === 'union' && (def.options ?? []).some((o) => isOpenMap(o));
  });
}

/** The schema at `path` below `root`, if the path names one. */
export function schemaAt(root: z.ZodType, path: readonly string[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = root;
  for (const key of path) {
    const shape: Record<string, z.ZodType> | undefined = node ? shapeOf(node) : undefined;
    node = shape?.[key];
    if (!node) return undefined;
  }
  return node;
}
