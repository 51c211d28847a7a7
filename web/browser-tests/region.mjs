// The wall display of an imported region in headless Chromium (tests/onboard.rs starts the server):
// it loads without console errors, its map labels the region's units, and no name from FORBIDDEN
// appears in its text or on its map.
//   FENGQIAO_URL   http://127.0.0.1:PORT
//   FENGQIAO_TOKEN a token the wall may use (admin or display)
//   REGION_NAMES   a file with the names of the region's counties, one a line
//   FORBIDDEN      a file with one forbidden name a line
//   ARTIFACTS      where the screenshot goes
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.FENGQIAO_URL;
const token = process.env.FENGQIAO_TOKEN;
const regionNames = readFileSync(process.env.REGION_NAMES, 'utf8').split('\n').filter((n) => n);
const forbidden = readFileSync(process.env.FORBIDDEN, 'utf8').split('\n').filter((n) => n);
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
         '--ignore-gpu-blocklist'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await page.waitForFunction('window.fengqiaoWall?.ready', null, { timeout: 60000 });
  await page.waitForFunction('window.fengqiaoWall.map.loaded()', null, { timeout: 60000 });
  // Zoom in so that township and village labels are drawn too.
  await page.evaluate(() => window.fengqiaoWall.map.setZoom(11));
  await page.waitForFunction('window.fengqiaoWall.map.loaded()', null, { timeout: 60000 });
  await page.waitForTimeout(1000);
  await page.screenshot({ path: join(artifacts, 'wall-imported-region.png') });
  const text = await page.evaluate(() => document.body.innerText);
  const labels = await page.evaluate(() => window.fengqiaoWall.map.queryRenderedFeatures()
    .map((f) => f.properties?.name).filter((n) => n));
  assert.deepEqual(errors, [], 'console errors');
  assert.ok(labels.some((l) => regionNames.includes(l)), `the map labels the region's counties: ${labels.slice(0, 20)}`);
  const seen = forbidden.filter((n) => text.includes(n) || labels.some((l) => l.includes(n)));
  assert.deepEqual(seen, [], 'names of another region on the wall');
  console.log(`ok wall: ${labels.length} labels, no foreign name`);
} finally {
  await browser.close();
}
