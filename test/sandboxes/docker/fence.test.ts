import { describe, expect, it } from 'vitest';
import { FenceScanner } from '../../../sandboxes/docker/runner/fence.ts';

function scanner() {
  const out = { text: '', late: 0 };
  const s = new FenceScanner(
    (t) => {
      out.text += t;
    },
    (n) => {
      out.late += n;
    },
  );
  return { s, out };
}

const FENCE = '\u0000strata-fence-0123456789abcdef\u0000';

describe('raw output fences', () => {
  it('gives bytes before the fence to the invocation and counts the rest as late, at any split', () => {
    const bytes = Buffer.from(`héllo wörld 😀${FENCE}after`);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { s, out } = scanner();
      s.open(FENCE);
      const seen = [s.push(bytes.subarray(0, cut)), s.push(bytes.subarray(cut))];
      expect(seen.filter(Boolean)).toHaveLength(1);
      expect(out.text).toBe('héllo wörld 😀');
      expect(out.late).toBe(5);
      expect(s.state).toBe('fenced');
    }
  });

  it('counts output while no invocation runs as late, never as text', () => {
    const { s, out } = scanner();
    s.push(Buffer.from('before anything'));
    s.open(FENCE);
    s.push(Buffer.from(`mine${FENCE}`));
    s.push(Buffer.from('stray'));
    s.close();
    s.push(Buffer.from('between'));
    expect(out.text).toBe('mine');
    expect(out.late).toBe('before anything'.length + 'stray'.length + 'between'.length);
  });

  it('flushes a held-back fence prefix when the invocation ends without its fence', () => {
    const { s, out } = scanner();
    s.open(FENCE);
    s.push(Buffer.from(`text\u0000strata-fe`));
    expect(out.text).toBe('text');
    s.close();
    expect(out.text).toBe('text\u0000strata-fe');
    expect(s.state).toBe('idle');
  });

  it("does not take another invocation's fence for its own", () => {
    const { s, out } = scanner();
    s.open(FENCE);
    const other = FENCE.replace('0123', 'ffff');
    expect(s.push(Buffer.from(`a${other}b`))).toBe(false);
    expect(out.text).toBe(`a${other}b`);
  });
});
