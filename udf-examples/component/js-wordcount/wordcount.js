// A standard-trust JS function: Strata compiles it into a component at deploy time and runs it
// in the wasm tier. Input: {"text": "..."}; result: word count and the most frequent words.
export default async function (input) {
  const counts = new Map();
  // Plain ASCII classes: the StarlingMonkey build has no Unicode property escapes (no ICU).
  for (const word of String(input?.text ?? '')
    .toLowerCase()
    .match(/[a-z0-9']+/g) ?? []) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3);
  return { words: [...counts.values()].reduce((a, b) => a + b, 0), top: Object.fromEntries(top) };
}
