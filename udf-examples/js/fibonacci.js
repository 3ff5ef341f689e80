// The n-th Fibonacci number, iteratively, as a string (exact past 2^53 with BigInt): {"n":90}
export default function (input) {
  const n = Number(input?.n ?? 10);
  if (!Number.isInteger(n) || n < 0 || n > 10_000) throw new Error('n must be an integer from 0 to 10000');
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return { n, fibonacci: a.toString() };
}
