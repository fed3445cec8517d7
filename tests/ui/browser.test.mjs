// The trading screen in headless Chromium (Debian's chromium driven by playwright-core)
// over https with a self-signed certificate: the page loads (TLS 1.3 with the records mdgw
// seals itself, per its /health), prices change, the ladder's
// best bid is below its best ask, no checksum mismatch, and after mdgw is restarted on the
// same port the page reconnects by itself. Screenshots go to the output directory.
//   node tests/ui/browser.test.mjs /path/to/mdgw OUT_DIR
// Exits 77 (skip, with the reason printed) when Chromium or playwright-core is missing.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startMdgw, waitFor } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const outDir = process.argv[3] || '.';
// A market busy enough to move every price within a second or two, light enough for a
// browser on a loaded 2-core machine (the test proves correctness, not throughput).
const SIM_ARGS = ['--sim-instruments', '16', '--sim-rate', '1500'];

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.log(`SKIP: playwright-core is not installed (scripts/bootstrap runs npm ci in tests/ui): ${e.message}`);
  process.exit(77);
}
if (!existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found (scripts/bootstrap installs Debian's chromium)`);
  process.exit(77);
}
mkdirSync(outDir, { recursive: true });

// Both best prices read in one evaluation: the ladder cannot re-render between them.
const bestPrices = (page) => page.evaluate(() => [
  Number(document.querySelector('[data-testid="best-bid"]').textContent),
  Number(document.querySelector('[data-testid="best-ask"]').textContent)]);
const text = (page, id) => page.locator(`[data-testid="${id}"]`).first().textContent({ timeout: 5000 });

test('the screen shows verified live data over https and reconnects after a restart', { timeout: 60000 }, async () => {
  let gw = await startMdgw({ tls: true, args: SIM_ARGS });
  const port = gw.port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30000,
  });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => console.log(`# page: ${m.text()}`));
    try {
      await exercise(page, port, async () => assert.equal(await gw.stop(), 0), async () => {
        gw = await startMdgw({ tls: true, port, args: SIM_ARGS });
      });
    } catch (e) {
      await page.screenshot({ path: join(outDir, 'ui-failure.png') }).catch(() => {});
      throw e;
    }
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await gw.stop();
  }
});

// The checks, in a user's order; `stop`/`start` stop mdgw and start it on the same port.
async function exercise(page, port, stop, start) {
    await page.goto(`https://127.0.0.1:${port}/?symbol=SIM:AAPL`, { timeout: 15000 });

    await waitFor('the connection to be live', async () => (await text(page, 'conn-status')) === 'live', 10000);
    await waitFor('a book in the ladder', async () => (await page.locator('[data-testid="best-bid"]').count()) > 0, 10000);
    assert.equal(await text(page, 'selected-symbol'), 'SIM:AAPL');
    // Chromium's TLS (BoringSSL: not the OpenSSL that made the records) read the page and
    // the wss stream over TLS 1.3 with the records mdgw seals itself (/health counts how
    // each handshake ended).
    const tls = await page.evaluate(async () => (await (await fetch('/health')).json()).tls);
    console.log(`# mdgw /health tls: ${JSON.stringify(tls)}`);
    assert.ok(tls.tls13_own_records >= 2, `page and wss over TLS 1.3 with mdgw's own records: ${JSON.stringify(tls)}`);
    assert.equal(tls.tls12 + tls.tls13_openssl_records, 0, JSON.stringify(tls));
    const rows = await page.locator('[data-testid="ticker-board"] tbody tr').count();
    assert.equal(rows, 16, 'one board row per instrument');

    // Prices change: the board (16 instruments) and the ladder's best prices.
    const snapshot = async () => page.locator('[data-testid="ticker-board"] tbody').textContent();
    const board0 = await snapshot();
    const ladder0 = await page.locator('[data-testid="ladder"] tbody').textContent();
    await waitFor('board prices to change', async () => (await snapshot()) !== board0, 10000);
    await waitFor('the ladder to change', async () =>
      (await page.locator('[data-testid="ladder"] tbody').textContent()) !== ladder0, 10000);
    for (let i = 0; i < 5; i++) {
      const [bid, ask] = await bestPrices(page);
      assert.ok(bid > 0 && ask > 0 && bid < ask, `best bid ${bid} < best ask ${ask}`);
      await page.waitForTimeout(200);
    }
    await waitFor('updates per second', async () => Number(await text(page, 'rate')) > 0, 3000);
    assert.match(await text(page, 'latency'), /^\d+\.\d\d ms$/);
    assert.ok(Number(await text(page, 'checksum-ok')) > 10, 'checksums verified');
    assert.equal(await text(page, 'checksum-mismatch'), '0');

    // Depth 25 and the instrument picker.
    await page.click('[data-testid="depth-25"]');
    await waitFor('25 ladder rows', async () => (await page.locator('[data-testid="ladder"] tbody tr').count()) === 25, 5000);
    await page.fill('[data-testid="search"]', 'msft');
    await waitFor('a search result', async () => (await page.locator('[data-testid="search-results"] li').count()) === 1, 3000);
    await page.press('[data-testid="search"]', 'Enter');
    await waitFor('SIM:MSFT selected', async () => (await text(page, 'selected-symbol')) === 'SIM:MSFT', 3000);
    await waitFor('the SIM:MSFT book', async () => Number(await text(page, 'best-bid')) > 0, 5000);
    await waitFor('trades on the tape', async () => (await page.locator('[data-testid="trade-tape"] tbody tr').count()) > 0, 10000);
    await page.screenshot({ path: join(outDir, 'ui-live.png') });

    // Restart mdgw on the same port: the page shows it lost the feed, then recovers alone.
    await stop();
    await waitFor('the page to notice', async () => (await text(page, 'conn-status')) !== 'live', 10000);
    await waitFor('the resync marker', async () =>
      (await page.locator('[data-testid="quality-SIM:AAPL"]').getAttribute('data-quality')) === 'resyncing', 3000);
    await page.screenshot({ path: join(outDir, 'ui-disconnected.png') });
    await start();
    await waitFor('the page to reconnect', async () => (await text(page, 'conn-status')) === 'live', 15000);
    assert.equal(await text(page, 'reconnects'), '1');
    const ok0 = Number(await text(page, 'checksum-ok'));
    await waitFor('verified books again', async () => Number(await text(page, 'checksum-ok')) > ok0 + 10, 10000);
    await waitFor('the marker to clear', async () =>
      (await page.locator('[data-testid="quality-SIM:AAPL"]').getAttribute('data-quality')) === 'ok', 5000);
    const [bid, ask] = await bestPrices(page);
    assert.ok(bid > 0 && bid < ask, `after the restart: best bid ${bid} < best ask ${ask}`);
    assert.equal(await text(page, 'checksum-mismatch'), '0');
    await page.screenshot({ path: join(outDir, 'ui-reconnected.png') });
}
