/**
 * Deterministic fuel metering, applied once at upload with binaryen.js: a mutable i64 global
 * `__strata_fuel` (exported) is decremented at every function entry and loop header by the
 * number of expressions in the straight-line region that follows; when it drops below zero the
 * guest traps (`unreachable`). The host sets the global to the fuel limit before the call and
 * reads what is left afterwards, so fuelConsumed = limit - remaining, the same on every run.
 */
import binaryen from 'binaryen';
import { StrataError } from '../../src/core/errors.ts';

import { FUEL_GLOBAL } from './fuel-global.ts';

export { FUEL_GLOBAL };

type Ref = number;

/** Parts of binaryen.js the bundled typings do not declare (checked against binaryen 132). */
interface BinaryenExtras {
  Loop: { getBody(loop: Ref): Ref; setBody(loop: Ref, body: Ref): void };
  Function: { setBody(fn: number, body: Ref): void };
  Features: Record<string, number>;
}
const bx = binaryen as unknown as BinaryenExtras;

/** Child fields per expression kind; any kind not here or in LEAVES is refused (never left unmetered). */
function childrenOf(expr: Ref): Ref[] {
  const id = binaryen.getExpressionId(expr);
  // Leaves first: getExpressionInfo has no case for some of them (unreachable).
  if (LEAVES.has(id)) return [];
  const fields = CHILD_FIELDS.get(id);
  if (fields === undefined) {
    throw new StrataError(
      'invalid_code',
      `fuel metering does not support expression kind ${id}; remove limits.fuel or avoid that proposal`,
      { section: 'code' },
    );
  }
  const info = binaryen.getExpressionInfo(expr) as unknown as Record<string, unknown>;
  const out: Ref[] = [];
  for (const field of fields) {
    const value = info[field];
    if (Array.isArray(value)) {
      for (const v of value) if (v) out.push(v as Ref);
    } else if (typeof value === 'number' && value !== 0) out.push(value);
  }
  return out;
}

const b = binaryen as unknown as Record<string, number>;
const CHILD_FIELDS = new Map<number, string[]>([
  [b.BlockId as number, ['children']],
  [b.IfId as number, ['condition', 'ifTrue', 'ifFalse']],
  [b.LoopId as number, ['body']],
  [b.BreakId as number, ['condition', 'value']],
  [b.SwitchId as number, ['condition', 'value']],
  [b.CallId as number, ['operands']],
  [b.CallIndirectId as number, ['target', 'operands']],
  [b.LocalSetId as number, ['value']],
  [b.GlobalSetId as number, ['value']],
  [b.LoadId as number, ['ptr']],
  [b.StoreId as number, ['ptr', 'value']],
  [b.UnaryId as number, ['value']],
  [b.BinaryId as number, ['left', 'right']],
  [b.SelectId as number, ['ifTrue', 'ifFalse', 'condition']],
  [b.DropId as number, ['value']],
  [b.ReturnId as number, ['value']],
  [b.MemoryGrowId as number, ['delta']],
  [b.AtomicRMWId as number, ['ptr', 'value']],
  [b.AtomicCmpxchgId as number, ['ptr', 'expected', 'replacement']],
  [b.AtomicWaitId as number, ['ptr', 'expected', 'timeout']],
  [b.AtomicNotifyId as number, ['ptr', 'notifyCount']],
  [b.SIMDExtractId as number, ['vec']],
  [b.SIMDReplaceId as number, ['vec', 'value']],
  [b.SIMDShuffleId as number, ['left', 'right']],
  [b.SIMDTernaryId as number, ['a', 'b', 'c']],
  [b.SIMDShiftId as number, ['vec', 'shift']],
  [b.SIMDLoadId as number, ['ptr']],
  [b.SIMDLoadStoreLaneId as number, ['ptr', 'vec']],
  [b.MemoryInitId as number, ['dest', 'offset', 'size']],
  [b.MemoryCopyId as number, ['dest', 'source', 'size']],
  [b.MemoryFillId as number, ['dest', 'value', 'size']],
  [b.RefIsNullId as number, ['value']],
  [b.RefEqId as number, ['left', 'right']],
  [b.TableGetId as number, ['index']],
  [b.TableSetId as number, ['index', 'value']],
  [b.TableGrowId as number, ['value', 'delta']],
  [b.TryId as number, ['body', 'catchBodies']],
  [b.ThrowId as number, ['operands']],
  [b.TupleMakeId as number, ['operands']],
  [b.TupleExtractId as number, ['tuple']],
]);
const LEAVES = new Set<number>(
  [
    'NopId',
    'LocalGetId',
    'GlobalGetId',
    'ConstId',
    'MemorySizeId',
    'UnreachableId',
    'PopId',
    'RefNullId',
    'RefFuncId',
    'DataDropId',
    'AtomicFenceId',
    'TableSizeId',
    'RethrowId',
  ].map((k) => b[k] as number),
);

/**
 * Features binaryen may read and emit: what V8 runs today, minus encodings it would reject
 * (compact imports, custom page sizes, ...). Memory64 and shared memory are refused earlier.
 */
const EXCLUDED = [
  'CompactImports',
  'CustomPageSizes',
  'SharedEverything',
  'StackSwitching',
  'Strings',
  'WideArithmetic',
  'FP16',
  'RelaxedAtomics',
  'AcquireReleaseAtomics',
  'CallIndirectOverlong',
  'Memory64',
];
const FEATURES = EXCLUDED.reduce((all, name) => all & ~(bx.Features[name] ?? 0), bx.Features.All as number);

/** Instruments `bytes` for fuel; returns the new binary. */
export function meterFuel(bytes: Uint8Array): Uint8Array {
  const mod = (binaryen.readBinary as (data: Uint8Array, features?: number) => binaryen.Module)(bytes, FEATURES);
  try {
    mod.setFeatures(FEATURES);
    mod.addGlobal(FUEL_GLOBAL, binaryen.i64, true, mod.i64.const(0n as unknown as number));
    mod.addGlobalExport(FUEL_GLOBAL, FUEL_GLOBAL);
    const charge = (cost: number): Ref =>
      mod.block(null, [
        mod.global.set(
          FUEL_GLOBAL,
          mod.i64.sub(mod.global.get(FUEL_GLOBAL, binaryen.i64), mod.i64.const(BigInt(cost) as unknown as number)),
        ),
        mod.if(
          mod.i64.lt_s(mod.global.get(FUEL_GLOBAL, binaryen.i64), mod.i64.const(0n as unknown as number)),
          mod.unreachable(),
        ),
      ]);
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const fn = mod.getFunctionByIndex(i);
      const info = binaryen.getFunctionInfo(fn);
      if (info.base || !info.body) continue; // imported
      // Regions: [0] is the function body outside loops, then one per loop.
      const costs: number[] = [0];
      const loops: Ref[] = [-1];
      const stack: Array<[Ref, number]> = [[info.body, 0]];
      while (stack.length > 0) {
        const [expr, region] = stack.pop() as [Ref, number];
        costs[region] = (costs[region] as number) + 1;
        if (binaryen.getExpressionId(expr) === binaryen.LoopId) {
          costs.push(0);
          loops.push(expr);
          stack.push([bx.Loop.getBody(expr), costs.length - 1]);
          continue;
        }
        for (const child of childrenOf(expr)) stack.push([child, region]);
      }
      for (let r = 1; r < loops.length; r++) {
        const loop = loops[r] as Ref;
        const body = bx.Loop.getBody(loop);
        bx.Loop.setBody(loop, mod.block(null, [charge(costs[r] as number), body], binaryen.auto));
      }
      bx.Function.setBody(fn, mod.block(null, [charge(costs[0] as number), info.body], binaryen.auto));
    }
    if (!mod.validate()) throw new StrataError('internal', 'fuel metering produced an invalid module');
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}
