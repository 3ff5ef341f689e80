/** capText: head and tail kept within a byte budget, the cut counted in a marker, characters never split. */
import { describe, expect, it } from 'vitest';
import { capText } from '../../src/core/text-cap.ts';

const markerOf = (text: string) => /\n…\[(\d+) bytes of (.+?) cut\]…\n/.exec(text);

describe('capText', () => {
  it('leaves text within the budget alone', () => {
    expect(capText('short', 16)).toBe('short');
    expect(capText('x'.repeat(1000), 1000)).toBe('x'.repeat(1000));
  });

  it('keeps head and tail within the budget, and the marker counts exactly what was cut', () => {
    const text = `HEAD${'m'.repeat(100_000)}TAIL`;
    const capped = capText(text, 1024, 'error message');
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(1024);
    expect(capped.startsWith('HEAD')).toBe(true);
    expect(capped.endsWith('TAIL')).toBe(true);
    const marker = markerOf(capped);
    expect(marker?.[2]).toBe('error message');
    const kept = Buffer.byteLength(capped.replace(marker?.[0] ?? '', ''));
    expect(kept + Number(marker?.[1])).toBe(Buffer.byteLength(text));
  });

  it('never splits a multi-byte character or a surrogate pair', () => {
    for (const unit of ['é', '中', '😀']) {
      const text = unit.repeat(5000);
      const capped = capText(text, 777);
      expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(777);
      const outside = capped.replace(markerOf(capped)?.[0] ?? '', '');
      expect(outside).not.toContain('\uFFFD');
      expect([...outside].every((c) => c === unit)).toBe(true);
    }
  });
});
