// An async function: awaits several promises at once (no timers: the sandbox has none) and
// sums what they resolve to. {"values":[1,2,3]} -> {"count":3,"sum":6,"doubled":[2,4,6]}
const double = async (value) => {
  await Promise.resolve(); // yield to the microtask queue, as real async work would
  return value * 2;
};

export default async function (input, ctx) {
  const values = Array.isArray(input?.values) ? input.values.map(Number) : [1, 2, 3];
  const doubled = await Promise.all(values.map(double));
  const sum = await values.reduce(async (total, v) => (await total) + v, Promise.resolve(0));
  ctx.log(`awaited ${values.length} promises`);
  return { count: values.length, sum, doubled };
}
