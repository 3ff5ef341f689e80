/** The event-loop helper itself: it sees a synchronous block, and not an idle wait or a busy machine. */
import { describe, expect, it } from 'vitest';
import { expectNoLoopBlock, watchEventLoop } from './event-loop.ts';

/** Spin until this thread has used `ms` of CPU (not wall time: a loaded machine stretches wall time). */
function spinCpu(ms: number): void {
  const start = process.threadCpuUsage();
  for (;;) {
    const now = process.threadCpuUsage(start);
    if ((now.user + now.system) / 1000 >= ms) return;
  }
}

describe('watchEventLoop', () => {
  it('reports a synchronous 300 ms block', async () => {
    const watch = watchEventLoop();
    await new Promise((r) => setTimeout(r, 20));
    spinCpu(300);
    await new Promise((r) => setTimeout(r, 20));
    expect(watch.stop().maxBlockedMs).toBeGreaterThanOrEqual(250);
  });

  it('does not count waiting', async () => {
    await expectNoLoopBlock(() => new Promise((r) => setTimeout(r, 300)), 100);
  });

  it('fails an expectation when the call blocks', async () => {
    await expect(
      expectNoLoopBlock(async () => {
        spinCpu(200);
      }, 100),
    ).rejects.toThrow(/blocked the event loop/);
  });
});
