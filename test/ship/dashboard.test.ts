/**
 * The dashboard in a real headless Chromium (Debian's chromium driven by playwright-core): a real
 * worker listening on a port, functions deployed and invoked over HTTP, the page watched as an
 * operator would — the execution appears in the live list, its page shows logs while it runs and
 * a drawn usage chart, and it follows a running execution to its end. Every request the page
 * makes must stay on the worker (no CDN). Screenshots go to test-artifacts/ship.
 *
 * Nothing here waits on the clock: the running function ticks until the test creates its signal
 * file, so the page is seen running for as long as the test needs, however slow the machine, and
 * then seen switch to finished once the test lets it end.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jsFunction, startTestWorker, type TestWorker } from '../gateway/support.ts';
import { processTierRequirement } from '../sandboxes/process/support.ts';
import { describeIf, type Requirement } from '../support/requirements.ts';
import { artifactsDir, chromiumRequirement, launchChromium } from './browser-support.ts';

/** Painted (non-transparent) pixels of the first chart canvas, evaluated in the page. */
const PAINTED_PIXELS = `(() => {
  const c = document.querySelector('.chart canvas');
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted;
})()`;

const both = (...reqs: Requirement[]): Requirement => reqs.find((r) => !r.ok) ?? { ok: true };

describeIf(both(chromiumRequirement(), processTierRequirement()), 'dashboard in Chromium', () => {
  let t: TestWorker;
  let browser: Browser;
  let base = '';
  const outside: string[] = [];
  const shots = artifactsDir();
  // Bound read-only into the process sandbox (its /tmp is private, so not under /tmp): a file
  // appearing here ends a `ticker` run.
  const signals = mkdtempSync('/var/tmp/strata-dashboard-');
  chmodSync(signals, 0o755);
  let runs = 0;

  /** Start a ticker run that ends when `release()` creates its signal file. */
  const startTicker = async () => {
    const signal = join(signals, `go-${++runs}`);
    const { executionId } = (await post('/v1/functions/ticker/invoke?async=1', signal)) as { executionId: string };
    return { executionId, release: () => writeFileSync(signal, 'go') };
  };

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, `${path}`).toBeLessThan(300);
    return (await res.json()) as Record<string, unknown>;
  };

  async function open(path: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    // Any request that would leave the worker is refused and remembered.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(base)) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(`${base}${path}`);
    return page;
  }

  beforeAll(async () => {
    t = await startTestWorker(
      {
        'process.readOnlyPaths': [
          '/usr/bin',
          '/usr/lib',
          '/usr/lib64',
          '/etc/ld.so.cache',
          '/etc/alternatives',
          signals,
        ],
      },
      { listen: true },
    );
    base = t.worker.url;
    await post(
      '/v1/functions',
      jsFunction('greet', 'export default (input, ctx) => { ctx.log("hello " + input); return 1; }'),
    );
    // Ticks on stderr (streamed live by the process tier) until the file its input names exists.
    await post('/v1/functions', {
      name: 'ticker',
      runtime: 'script',
      interpreter: 'sh',
      trust: 'trusted',
      source:
        'signal=$(cat | tr -d \'"\'); n=0; while [ ! -e "$signal" ]; do n=$((n+1)); echo "tick $n" >&2; sleep 0.2; done; echo "released after $n ticks" >&2; echo $n',
      limits: { timeoutMs: 600_000 },
    });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    rmSync(signals, { recursive: true, force: true });
  });

  it('shows a new execution in the live list without a reload', async () => {
    const page = await open('/ui#/executions');
    await page.locator('.live.on').waitFor({ timeout: 30_000 });
    const record = await post('/v1/functions/greet/invoke', 'Ada');
    const row = page.locator(`tr[data-execution="${record.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    // The row may first show the start event (running); the finish event follows it live.
    await page.locator(`tr[data-execution="${record.id}"][data-status="succeeded"]`).waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain('greet@1');
    await page.screenshot({ path: join(shots, 'executions.png'), fullPage: true });
    await page.close();
  }, 90_000);

  it('opens a running execution from the live list: logs live, a drawn usage chart, then its end', async () => {
    const page = await open('/ui#/executions');
    await page.locator('.live.on').waitFor({ timeout: 30_000 });
    const run = await startTicker();
    const link = page.locator(`tr[data-execution="${run.executionId}"] a`);
    await link.waitFor({ timeout: 30_000 });
    await link.click();
    await page.locator('#logs').getByText('tick 3', { exact: false }).waitFor({ timeout: 30_000 });
    // Seen while it still runs (it cannot end before release): the page follows it live.
    expect(await page.locator('article.execution').getAttribute('data-status')).toBe('running');
    await page.locator('.chart canvas').first().waitFor({ timeout: 30_000 });
    // A drawn chart: the canvas has painted (non-transparent) pixels.
    await expect.poll(() => page.evaluate(PAINTED_PIXELS), { timeout: 30_000 }).toBeGreaterThan(100);
    await page.screenshot({ path: join(shots, 'execution-running.png'), fullPage: true });
    run.release();
    await page.locator('article.execution[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('#logs').textContent()).toMatch(/released after \d+ ticks\n?$/);
    expect(await page.locator('h3', { hasText: 'ended: succeeded' }).count()).toBe(1);
    await page.screenshot({ path: join(shots, 'execution-ended.png'), fullPage: true });
    await page.close();
  }, 150_000);

  it('follows an execution page opened while it runs until it switches to finished', async () => {
    const run = await startTicker();
    const page = await open(`/ui#/executions/${run.executionId}`);
    const article = page.locator(`article.execution[data-status="running"]`);
    await article.waitFor({ timeout: 30_000 });
    await page.locator('#logs').getByText('tick 2', { exact: false }).waitFor({ timeout: 30_000 });
    expect(await page.locator('h3', { hasText: 'Logs (live)' }).count()).toBe(1);
    expect(await page.locator('#status').textContent()).toBe('running');
    run.release();
    // The same open page, no reload: the status flips and the log stream is end-marked.
    await page.locator('article.execution[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('#status').textContent()).toBe('succeeded');
    await page.locator('h3', { hasText: 'ended: succeeded' }).waitFor({ timeout: 30_000 });
    const logs = (await page.locator('#logs').textContent()) ?? '';
    expect(logs).toMatch(/^tick 1\n/);
    expect(logs).toMatch(/released after \d+ ticks\n?$/);
    // Every tick once, in order, then the end: nothing lost or repeated while following.
    const ticks = [...logs.matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ticks).toEqual(ticks.map((_, i) => i + 1));
    expect(logs).toContain(`released after ${ticks.length} ticks`);
    await page.screenshot({ path: join(shots, 'execution-followed.png'), fullPage: true });
    await page.close();
  }, 150_000);

  it('shows tiers and functions, and fits a phone width', async () => {
    const page = await open('/ui', { width: 390, height: 844 });
    await page.locator('tr[data-function="greet"]').waitFor({ timeout: 30_000 });
    await page.locator('li[data-tier="isolate"].ok').waitFor({ timeout: 30_000 });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow as number).toBeLessThanOrEqual(1);
    await page.screenshot({ path: join(shots, 'overview-phone.png'), fullPage: true });
    await page.close();
  }, 60_000);

  it('renders the API reference at /docs from the worker alone', async () => {
    const page = await open('/docs');
    await page.locator('.opblock').first().waitFor({ timeout: 60_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThan(15);
    await page.close();
    expect(outside).toEqual([]);
  }, 90_000);
});
