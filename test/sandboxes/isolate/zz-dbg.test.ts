import { it } from 'vitest';
import { jsArtifact, newDriver, runIn } from './helpers.ts';

it('dbg', async () => {
  const d = newDriver(1);
  await d.start();
  const r = await runIn(
    d,
    jsArtifact('export default () => "x".repeat(100 * 1024 * 1024)', { trust: 'standard' }),
    null,
    { memoryMb: 512, resultBytes: 8 * 1024 ** 2, timeoutMs: 30000 },
  );
  console.log(JSON.stringify(r.outcome), r.elapsedMs);
  await d.dispose();
}, 60000);
