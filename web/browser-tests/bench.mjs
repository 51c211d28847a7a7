// Page benchmark (docs/benchmarks.md): against a running server (FENGQIAO_URL, no tokens), in
// Debian's headless Chromium with software WebGL:
//   wall    — time from navigation to panels filled and the map idle; first load (server cold for the
//             period's layers) and warm loads, each in a fresh browser context (empty browser cache);
//   explore — the same, then click the busiest red hexagon → details shown; choose a category → map
//             idle; drill into the largest county → details shown;
//   soak    — the wall playing back (SOAK_FRAME_SECONDS a frame, default 1) for SOAK_SECONDS: JS heap
//             after a forced GC at the start, every tenth of the soak and the end, and the page's DOM
//             node count (a wall must run for weeks). ONLY=soak runs the soak alone.
// Prints TSV lines `page  phase  ms_or_value`.
import { chromium } from 'playwright-core';

const base = process.env.FENGQIAO_URL;
const soakSeconds = Number(process.env.SOAK_SECONDS || 180);
const soakFrameSeconds = Number(process.env.SOAK_FRAME_SECONDS || 1);
const only = process.env.ONLY; // 'soak' runs the soak alone
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
         '--ignore-gpu-blocklist', '--js-flags=--expose-gc'],
});
const out = (page, phase, value) => console.log(`${page}\t${phase}\t${typeof value === 'number' ? value.toFixed(0) : value}`);

async function idle(page, expression) {
  await page.waitForFunction(`${expression}?.ready`, null, { timeout: 120000 });
  await page.evaluate(`new Promise((resolve) => {
    const map = ${expression};
    const m = map.mapA || map.map;
    if (m.loaded() && m.areTilesLoaded()) resolve(); else m.once('idle', resolve);
  })`);
}

async function load(path, expression) {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(`${base}${path}`);
  await idle(page, expression);
  return { page, context, ms: Date.now() - started };
}

for (const run of only === 'soak' ? [] : ['first', 'warm', 'warm']) {
  const { context, ms } = await load('/', 'window.fengqiaoWall');
  out('wall', `ready (${run})`, ms);
  await context.close();
}

for (const run of only === 'soak' ? [] : ['first', 'warm']) {
  const { page, context, ms } = await load('/explore', 'window.fengqiaoExplorer');
  out('explore', `ready (${run})`, ms);
  const target = await page.evaluate(() => {
    const map = window.fengqiaoExplorer.mapA;
    const f = map.queryRenderedFeatures({ layers: ['hex'] }).filter((x) => x.properties.level === 'red')
      .sort((a, b) => b.properties.count - a.properties.count)[0];
    const ring = f.geometry.coordinates[0].slice(0, -1);
    const c = ring.reduce((a, p) => [a[0] + p[0] / ring.length, a[1] + p[1] / ring.length], [0, 0]);
    const p = map.project(c);
    return { x: p.x, y: p.y, h3: f.properties.h3 };
  });
  const box = await page.locator('#map-a').boundingBox();
  let t = Date.now();
  await page.mouse.click(box.x + target.x, box.y + target.y);
  await page.waitForFunction((h3) => window.fengqiaoExplorer.details?.title.includes(h3), target.h3, { timeout: 120000 });
  out('explore', `click → details (${run})`, Date.now() - t);
  t = Date.now();
  await page.selectOption('select[name="category"]', [run === 'first' ? 'labour' : 'neighbour']);
  await page.waitForTimeout(50);
  await idle(page, 'window.fengqiaoExplorer');
  out('explore', `filter → map idle (${run})`, Date.now() - t);
  await page.selectOption('select[name="category"]', []);
  await idle(page, 'window.fengqiaoExplorer');
  const county = await page.$eval('#children tbody tr', (r) => r.dataset.unit);
  t = Date.now();
  await page.click(`#children tr[data-unit="${county}"]`);
  await page.waitForFunction((code) => window.fengqiaoExplorer.unit?.code === code, county, { timeout: 120000 });
  await idle(page, 'window.fengqiaoExplorer');
  out('explore', `drill → details and map (${run})`, Date.now() - t);
  await context.close();
}

{
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${base}/?playback=week&playback_seconds=${soakFrameSeconds}`);
  await page.waitForFunction('window.fengqiaoWall?.ready', null, { timeout: 120000 });
  const heap = async () => {
    await page.evaluate(() => window.gc && window.gc());
    const { metrics } = await cdp.send('Performance.getMetrics');
    const get = (name) => metrics.find((m) => m.name === name).value;
    return { heap: get('JSHeapUsedSize') / 1048576, nodes: get('Nodes') };
  };
  await page.waitForTimeout(12 * soakFrameSeconds * 1000); // one full cycle of 12 frames first
  const start = await heap();
  // A sample every tenth of the soak: a leak grows steadily, a cache levels off.
  for (let i = 1; i <= 10; i += 1) {
    await page.waitForTimeout((soakSeconds * 1000) / 10);
    const sample = await heap();
    out('soak', `JS heap MiB at ${Math.round((i * soakSeconds) / 10)} s`, sample.heap.toFixed(1));
  }
  const end = await heap();
  const frames = await page.evaluate(() => window.fengqiaoWall.state.playback.index);
  out('soak', 'seconds', soakSeconds);
  out('soak', 'JS heap MiB start', start.heap.toFixed(1));
  out('soak', 'JS heap MiB end', end.heap.toFixed(1));
  out('soak', 'DOM nodes start/end', `${start.nodes}/${end.nodes}`);
  out('soak', 'last frame index', frames);
  await context.close();
}
await browser.close();
