// The wall display and the explorer in a real headless Chromium (Debian's, driven by playwright-core),
// against a running `fengqiao serve`. Run by tests/browser.rs, which generates the store, starts the
// server and passes:
//   FENGQIAO_URL        http://127.0.0.1:PORT
//   DISPLAY_TOKEN       a display-role token (the wall)
//   ANALYST_TOKEN       an analyst-role token (the explorer)
//   ADMIN_TOKEN, MORE_CASES  an admin token and a CSV of later cases, ingested through the API last
//                       (the open wall must refresh itself from the event stream)
//   ARTIFACTS           where screenshots and exported files are saved
//   CHROMIUM            the browser (default /usr/bin/chromium)
// Every check throws on failure; the process exits non-zero with the failed check's message.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.FENGQIAO_URL;
const displayToken = process.env.DISPLAY_TOKEN;
const analystToken = process.env.ANALYST_TOKEN;
const artifacts = process.env.ARTIFACTS;
assert.ok(base && displayToken && analystToken && artifacts, 'FENGQIAO_URL, DISPLAY_TOKEN, ANALYST_TOKEN, ARTIFACTS');
mkdirSync(artifacts, { recursive: true });

const LEVEL_RGB = { red: [0xdc, 0x26, 0x26], orange: [0xf9, 0x73, 0x16], yellow: [0xfa, 0xcc, 0x15], blue: [0x3b, 0x82, 0xf6] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // No background traffic (this machine's network is closed); WebGL in software.
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
         '--ignore-gpu-blocklist'],
});

let failures = 0;
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

/** A page that records console errors, page errors, failed requests and every URL it asks for. */
async function openPage(path, viewport = { width: 1920, height: 1080 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const seen = { errors: [], requests: [], outside: [] };
  page.on('console', (m) => { if (m.type() === 'error') seen.errors.push(m.text()); });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  // A tile the map no longer needs is cancelled (net::ERR_ABORTED): normal; any other failure is not.
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') seen.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('request', (r) => {
    const url = new URL(r.url());
    seen.requests.push(r.url());
    const local = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (!local && !['data:', 'blob:'].includes(url.protocol)) seen.outside.push(r.url());
  });
  await page.goto(`${base}${path}`);
  return { page, context, seen };
}

/** GET from the server as `token`, parsed as JSON. */
async function api(path, token) {
  const response = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return response.json();
}

/** Polls `condition` (in this process) for up to 20 s. */
async function until(condition, what) {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 20000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitIdle(page, expression) {
  await page.waitForFunction(`${expression}?.ready`, null, { timeout: 60000 });
  await page.waitForFunction(`${expression}.map${expression.endsWith('Explorer') ? 'A' : ''}.loaded()`, null, { timeout: 60000 });
  await page.evaluate(`new Promise((resolve) => {
    const map = ${expression}.map${expression.endsWith('Explorer') ? 'A' : ''};
    if (map.loaded() && map.areTilesLoaded()) resolve(); else map.once('idle', resolve);
  })`);
}

/** Pixels of the map canvas near each level's colour (as drawn: 90% over the dark basemap). */
async function levelPixels(page, mapExpression) {
  return page.evaluate(({ mapExpression, LEVEL_RGB }) => new Promise((resolve) => {
    const map = eval(mapExpression);
    map.once('render', () => {
      const source = map.getCanvas();
      const copy = document.createElement('canvas');
      copy.width = source.width;
      copy.height = source.height;
      const g = copy.getContext('2d');
      g.drawImage(source, 0, 0);
      const data = g.getImageData(0, 0, copy.width, copy.height).data;
      const under = [0x11, 0x1a, 0x2e];
      const targets = Object.entries(LEVEL_RGB).map(([level, rgb]) => [level, rgb.map((c, i) => 0.9 * c + 0.1 * under[i])]);
      const counts = Object.fromEntries(Object.keys(LEVEL_RGB).map((l) => [l, 0]));
      for (let i = 0; i < data.length; i += 4) {
        for (const [level, rgb] of targets) {
          if (Math.abs(data[i] - rgb[0]) < 24 && Math.abs(data[i + 1] - rgb[1]) < 24 && Math.abs(data[i + 2] - rgb[2]) < 24) {
            counts[level] += 1;
          }
        }
      }
      resolve(counts);
    });
    map.triggerRepaint();
  }), { mapExpression, LEVEL_RGB });
}

/** The hexagon tile requests (z and query) seen so far. */
function hexTiles(seen) {
  return seen.requests
    .filter((u) => u.includes('/tiles/hex/'))
    .map((u) => { const url = new URL(u); return { z: Number(url.pathname.split('/')[3]), q: url.searchParams }; });
}

function resolutionForZoom(z) { return z <= 7 ? 6 : z <= 9 ? 7 : z <= 11 ? 8 : 9; }

function percent(x) { return x == null ? '—' : `${(100 * x).toFixed(1)}%`; }

function addDays(text, days) {
  return new Date(new Date(`${text}T00:00:00Z`).getTime() + days * 86400000).toISOString().slice(0, 10);
}

const version = await api('/api/version', displayToken);
const last = version.last_day;
const from = addDays(last, -6);

// --- the wall ---------------------------------------------------------------------------------

const wall = await openPage(`/?token=${displayToken}`);
await check('wall: loads, draws its map, no console error, nothing fetched beyond this server', async () => {
  await waitIdle(wall.page, 'window.fengqiaoWall');
  await wall.page.waitForTimeout(500);
  await wall.page.screenshot({ path: join(artifacts, 'wall-1920x1080.png') });
  assert.deepEqual(wall.seen.errors, []);
  assert.deepEqual(wall.seen.outside, []);
  assert.ok(hexTiles(wall.seen).length > 0, 'hexagon tiles requested');
  const fonts = wall.seen.requests.filter((u) => u.includes('/static/fonts/'));
  console.log(`     font files fetched: ${fonts.length ? fonts.join(' ') : 'none (a local CJK font serves)'}`);
  assert.ok(await wall.page.evaluate(() => [...document.fonts].some((f) => f.family.includes('Fengqiao Sans') && f.status === 'loaded')));
});

await check('wall: hexagons on the canvas in the colours of the levels the tiles carry', async () => {
  const tiles = hexTiles(wall.seen).filter((t) => t.q.get('from') === from);
  assert.ok(tiles.length > 0, 'tiles of the period');
  const res = resolutionForZoom(Math.max(...tiles.map((t) => t.z)));
  const heat = await api(`/api/heatmap?res=${res}&from=${from}&to=${last}`, displayToken);
  const cells = Object.fromEntries(Object.keys(LEVEL_RGB).map((l) => [l, heat.cells.filter((c) => c.level === l).length]));
  const pixels = await levelPixels(wall.page, 'window.fengqiaoWall.map');
  console.log(`     res ${res} cells by level ${JSON.stringify(cells)}; pixels ${JSON.stringify(pixels)}`);
  assert.ok(cells.red > 0, 'the generated week has a red cluster');
  for (const level of Object.keys(LEVEL_RGB)) {
    if (cells[level] > 0) assert.ok(pixels[level] > 20, `${level}: ${cells[level]} cells but ${pixels[level]} pixels`);
    else assert.ok(pixels[level] < 20, `${level}: no cells but ${pixels[level]} pixels`);
  }
});

await check('wall: the panels show the API\'s figures', async () => {
  const week = (await api(`/api/kpis?from=${from}&to=${last}`, displayToken)).summary;
  const today = (await api(`/api/kpis?from=${last}&to=${last}`, displayToken)).summary;
  const hotspots = await api(`/api/hotspots?from=${from}&to=${last}`, displayToken);
  const alerts = await api(`/api/alerts?as_of=${last}&limit=12`, displayToken);
  const kpi = async (id) => (await wall.page.textContent(`[data-kpi="${id}"] b`)).trim();
  assert.equal(await kpi('cases'), String(week.cases));
  assert.equal(await kpi('today'), String(today.cases));
  assert.equal(await kpi('closure'), percent(week.closure_rate));
  assert.equal(await kpi('on_time'), percent(week.on_time_rate));
  assert.equal(await kpi('satisfaction'), percent(week.satisfaction_rate));
  assert.equal(await kpi('red_orange'), String(hotspots.filter((c) => ['red', 'orange'].includes(c.level)).length));
  const clusters = await wall.page.$$eval('#clusters li', (items) => items.map((i) => [i.textContent, i.title]));
  assert.equal(clusters.length, Math.min(6, hotspots.length));
  assert.ok(clusters[0][0].includes(hotspots[0].reason), `${clusters[0][0]} vs ${hotspots[0].reason}`);
  assert.ok(clusters[0][0].includes(hotspots[0].villages[0].name));
  assert.equal(clusters[0][1], hotspots[0].reason);
  const ticker = await wall.page.textContent('#ticker');
  assert.ok(alerts.length > 0 && ticker.includes(alerts[0].unit_name), ticker.slice(0, 200));
  const fit = await wall.page.evaluate(() => Object.values(window.fengqiaoWall.charts)
    .map((c) => [c.getHeight(), c.getDom().getBoundingClientRect().height]));
  for (const [chart, box] of fit) assert.ok(Math.abs(chart - box) <= 1, `a chart ${chart} px high in a ${box} px box`);
  const bars = await wall.page.evaluate(() => window.fengqiaoWall.charts.classes.getOption().series[1].data);
  assert.deepEqual(bars, week.by_class.map(([, n]) => n));
});

await check('wall: the legend toggles risk and workload; tiles, clusters and legend follow', async () => {
  const heading = async () => (await wall.page.textContent('[data-i18n="clusters"]')).trim();
  assert.ok((await heading()).startsWith('风险'), await heading());
  assert.ok(hexTiles(wall.seen).every((t) => (t.q.get('measure') || 'excess') === 'excess'), 'risk tiles first');
  const before = hexTiles(wall.seen).length;
  await wall.page.click('#legend button[data-measure="count"]');
  await until(() => hexTiles(wall.seen).slice(before).some((t) => t.q.get('measure') === 'count'), 'workload tiles');
  await waitIdle(wall.page, 'window.fengqiaoWall');
  assert.ok((await heading()).startsWith('工作量'), await heading());
  assert.ok((await wall.page.textContent('#legend .note')).includes('案件数'));
  assert.equal(new URL(wall.page.url()).searchParams.get('measure'), 'count');
  const counted = await api(`/api/hotspots?from=${from}&to=${last}&measure=count`, displayToken);
  const shown = await wall.page.$$eval('#clusters li', (items) => items.map((i) => i.title));
  assert.deepEqual(shown, counted.slice(0, 6).map((c) => c.reason));
  await wall.page.click('#legend button[data-measure="excess"]');
  await waitIdle(wall.page, 'window.fengqiaoWall');
  assert.ok((await heading()).startsWith('风险'), await heading());
});

await check('wall: the same layout at 3840×2160', async () => {
  const big = await openPage(`/?token=${displayToken}`, { width: 3840, height: 2160 });
  await waitIdle(big.page, 'window.fengqiaoWall');
  await big.page.screenshot({ path: join(artifacts, 'wall-3840x2160.png') });
  assert.deepEqual(big.seen.errors, []);
  for (const selector of ['aside', '#map', 'header h1', 'footer', '#kpis']) {
    const small = await wall.page.locator(selector).boundingBox();
    const large = await big.page.locator(selector).boundingBox();
    for (const key of ['x', 'y', 'width', 'height']) {
      // Text boxes round their line heights: 4% or 6 px.
      const slack = Math.max(6, 0.04 * large[key]);
      assert.ok(Math.abs(large[key] - 2 * small[key]) <= slack, `${selector} ${key}: ${small[key]} at 1080p, ${large[key]} at 2160p`);
    }
  }
  const size = async (page) => page.$eval('.kpi b', (e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(Math.abs((await size(big.page)) - 2 * (await size(wall.page))) < 1, 'figures scale with the screen');
  await big.context.close();
});

await check('wall: English on request', async () => {
  const en = await openPage(`/?token=${displayToken}&lang=en`);
  await waitIdle(en.page, 'window.fengqiaoWall');
  assert.equal(await en.page.textContent('#title'), 'Contradiction heat map');
  assert.equal(await en.page.textContent('[data-i18n="clusters"]'), 'Risk · Hot-spot clusters');
  const classes = await en.page.evaluate(() => window.fengqiaoWall.charts.classes.getOption().yAxis[0].data);
  assert.deepEqual(classes.slice(0, 2), ['Dispute', 'Livelihood']);
  assert.deepEqual(en.seen.errors, []);
  await en.context.close();
});

await check('wall: playback steps through 12 weeks with a fixed colour scale', async () => {
  const play = await openPage(`/?token=${displayToken}&playback=week&playback_seconds=1`);
  await play.page.waitForFunction('window.fengqiaoWall?.ready', null, { timeout: 60000 });
  const first = await play.page.evaluate(() => ({
    index: window.fengqiaoWall.state.playback.index, frames: window.fengqiaoWall.state.playback.frames,
    colour: JSON.stringify(window.fengqiaoWall.map.getPaintProperty('hex', 'fill-color')),
  }));
  assert.equal(first.frames.length, 12);
  assert.equal(first.frames[11].to, last);
  assert.equal(first.frames[0].to, addDays(last, -77));
  await play.page.waitForFunction((i) => window.fengqiaoWall.state.playback.index !== i, first.index, { timeout: 10000 });
  await play.page.waitForTimeout(2500);
  const later = await play.page.evaluate(() => ({
    index: window.fengqiaoWall.state.playback.index,
    colour: JSON.stringify(window.fengqiaoWall.map.getPaintProperty('hex', 'fill-color')),
    period: document.getElementById('period').textContent,
  }));
  assert.notEqual(later.index, first.index);
  assert.equal(later.colour, first.colour, 'the colour scale stays while playing');
  const frame = first.frames[later.index];
  assert.ok(later.period.includes(frame.from) && later.period.includes(frame.to), later.period);
  const tos = new Set(hexTiles(play.seen).map((t) => t.q.get('to')));
  assert.ok(tos.size >= 3, `hexagon tiles of several weeks: ${[...tos]}`);
  await play.page.screenshot({ path: join(artifacts, 'wall-playback.png') });
  assert.deepEqual(play.seen.errors, []);
  await play.context.close();
});

await check('wall: the tour flies to the red and orange clusters', async () => {
  const tour = await openPage(`/?token=${displayToken}&tour=1&tour_seconds=2`);
  await tour.page.waitForFunction('window.fengqiaoWall?.ready', null, { timeout: 60000 });
  const clusters = await tour.page.evaluate(() => window.fengqiaoWall.state.clusters.map((c) => [c.lng, c.lat]));
  assert.ok(clusters.length > 0);
  await tour.page.waitForFunction(() => window.fengqiaoWall.state.tourIndex >= 1 && !window.fengqiaoWall.map.isMoving(), null, { timeout: 20000 });
  await tour.page.waitForTimeout(300);
  const centre = await tour.page.evaluate(() => window.fengqiaoWall.map.getCenter().toArray());
  const target = clusters[0];
  const popup = await tour.page.textContent('.tour');
  assert.ok(popup.length > 0);
  // Still flying to the next one is fine: at least it left the overview for a cluster.
  const near = clusters.some(([lng, lat]) => Math.abs(lng - centre[0]) < 0.05 && Math.abs(lat - centre[1]) < 0.05);
  assert.ok(near || Math.abs(centre[0] - target[0]) < 0.2, `centre ${centre} vs clusters ${JSON.stringify(clusters.slice(0, 3))}`);
  await tour.context.close();
});

await check('wall: a county instead of the region (unit=)', async () => {
  const code = '431002';
  const county = await openPage(`/?token=${displayToken}&unit=${code}`);
  await waitIdle(county.page, 'window.fengqiaoWall');
  const kpis = (await api(`/api/kpis?from=${from}&to=${last}&unit=${code}`, displayToken)).summary;
  assert.equal((await county.page.textContent('[data-kpi="cases"] b')).trim(), String(kpis.cases));
  const calls = county.seen.requests.filter((u) => /\/api\/(kpis|hotspots|trends|alerts|heatmap)\?/.test(u));
  assert.ok(calls.length >= 5 && calls.every((u) => new URL(u).searchParams.get('unit') === code), calls.join(' '));
  const tiles = hexTiles(county.seen);
  assert.ok(tiles.length > 0 && tiles.every((t) => t.q.get('unit') === code));
  const unit = await api(`/api/units/${code}`, displayToken);
  const centre = await county.page.evaluate(() => window.fengqiaoWall.map.getCenter().toArray());
  assert.ok(centre[0] > unit.bbox[0] && centre[0] < unit.bbox[2] && centre[1] > unit.bbox[1] && centre[1] < unit.bbox[3]);
  await county.page.screenshot({ path: join(artifacts, 'wall-county.png') });
  assert.deepEqual(county.seen.errors, []);
  await county.context.close();
});

await check('wall: on a machine without CJK fonts, Chinese is drawn with the served Noto Sans SC', async () => {
  // A fontconfig that knows only DejaVu (Latin; always there with fontconfig): no CJK font at all.
  const dejavu = '/usr/share/fonts/truetype/dejavu';
  assert.ok(existsSync(dejavu), dejavu);
  const dir = join(artifacts, 'no-cjk-fonts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'fonts.conf'), `<?xml version="1.0"?><fontconfig><dir>${dejavu}</dir>` +
    `<cachedir>${join(dir, 'cache')}</cachedir></fontconfig>`);
  const bare = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    env: { ...process.env, FONTCONFIG_FILE: join(dir, 'fonts.conf') },
  });
  const page = await bare.newPage({ viewport: { width: 1920, height: 1080 } });
  const fonts = [];
  const errors = [];
  page.on('request', (r) => { if (r.url().includes('/static/fonts/')) fonts.push(r.url()); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/?token=${displayToken}`);
  await waitIdle(page, 'window.fengqiaoWall');
  await page.screenshot({ path: join(artifacts, 'wall-without-cjk-fonts.png') });
  assert.deepEqual(errors, []);
  assert.ok(fonts.some((u) => u.endsWith('NotoSansSC-Regular.ttf')), `fetched ${fonts}`);
  // Drawn with the served font, a CJK character is a full em wide and unlike a missing glyph's box.
  const widths = await page.evaluate(() => {
    const g = document.createElement('canvas').getContext('2d');
    g.font = '100px "Fengqiao Sans"';
    return [g.measureText('郴').width, g.measureText('州').width, g.measureText('1').width];
  });
  assert.ok(Math.abs(widths[0] - 100) < 2 && Math.abs(widths[1] - 100) < 2 && widths[2] < 70, `${widths}`);
  await bare.close();
});

// --- the explorer -----------------------------------------------------------------------------

const explorer = await openPage(`/explore?token=${analystToken}`);
await check('explorer: loads with no console error and nothing fetched beyond this server', async () => {
  await waitIdle(explorer.page, 'window.fengqiaoExplorer');
  await explorer.page.screenshot({ path: join(artifacts, 'explore.png') });
  assert.deepEqual(explorer.seen.errors, []);
  assert.deepEqual(explorer.seen.outside, []);
});

const view = await explorer.page.evaluate(() => ({ ...window.fengqiaoExplorer.view }));

await check('explorer: clicking a hexagon opens its details, with the API\'s figures', async () => {
  const target = await explorer.page.evaluate(() => {
    const map = window.fengqiaoExplorer.mapA;
    const features = map.queryRenderedFeatures({ layers: ['hex'] })
      .filter((f) => f.properties.level === 'red')
      .sort((a, b) => b.properties.count - a.properties.count);
    const f = features[0];
    const ring = f.geometry.coordinates[0].slice(0, -1);
    const centre = ring.reduce((a, p) => [a[0] + p[0] / ring.length, a[1] + p[1] / ring.length], [0, 0]);
    const point = map.project(centre);
    return { x: point.x, y: point.y, h3: f.properties.h3 };
  });
  const box = await explorer.page.locator('#map-a').boundingBox();
  await explorer.page.mouse.click(box.x + target.x, box.y + target.y);
  await explorer.page.waitForFunction((h3) => window.fengqiaoExplorer.details?.title.includes(h3), target.h3, { timeout: 20000 });
  const profile = await api(`/api/profile?cell=${target.h3}&from=${view.from}&to=${view.to}`, analystToken);
  const shown = await explorer.page.textContent('#details-kpis .kpi b');
  assert.ok(shown.startsWith(String(profile.summary.cases)), `${shown} vs ${profile.summary.cases}`);
  assert.ok(profile.summary.cases > 0);
  const villages = await explorer.page.$$eval('#villages tr', (rows) => rows.map((r) => r.textContent));
  assert.equal(villages.length, profile.villages.length);
  assert.ok(villages[0].includes(profile.villages[0].name));
  const weekly = await explorer.page.evaluate(() => window.fengqiaoExplorer.details.profile.weekly);
  assert.deepEqual(weekly, profile.weekly);
  assert.equal(weekly.length, 12);
  await explorer.page.screenshot({ path: join(artifacts, 'explore-details.png') });
});

await check('explorer: a filter change changes the tiles requested', async () => {
  const before = hexTiles(explorer.seen).length;
  await explorer.page.selectOption('select[name="category"]', ['labour']);
  await until(() => hexTiles(explorer.seen).slice(before).some((t) => t.q.get('category') === 'labour'), 'labour tiles');
  await waitIdle(explorer.page, 'window.fengqiaoExplorer');
  const labour = hexTiles(explorer.seen).slice(before);
  assert.ok(labour.length > 0 && labour.every((t) => t.q.get('category') === 'labour'), 'every new tile is filtered');
  assert.ok(new URL(explorer.page.url()).searchParams.get('category') === 'labour', 'the URL keeps the view');
  await explorer.page.selectOption('select[name="category"]', []);
  await waitIdle(explorer.page, 'window.fengqiaoExplorer');
});

await check('explorer: the measure choice reaches the tiles, the legend and the URL', async () => {
  assert.ok((await explorer.page.textContent('#legend-measure')).startsWith('风险'));
  const before = hexTiles(explorer.seen).length;
  await explorer.page.selectOption('select[name="measure"]', 'count');
  await until(() => hexTiles(explorer.seen).slice(before).some((t) => t.q.get('measure') === 'count'), 'workload tiles');
  await waitIdle(explorer.page, 'window.fengqiaoExplorer');
  assert.ok((await explorer.page.textContent('#legend-measure')).startsWith('工作量'));
  assert.equal(new URL(explorer.page.url()).searchParams.get('measure'), 'count');
  await explorer.page.selectOption('select[name="measure"]', 'excess');
  await explorer.page.selectOption('select[name="metric"]', 'population');
  await waitIdle(explorer.page, 'window.fengqiaoExplorer');
  assert.ok((await explorer.page.textContent('#legend')).includes('常住人口'));
  const paint = await explorer.page.evaluate(() => JSON.stringify(window.fengqiaoExplorer.mapA.getPaintProperty('hex', 'fill-color')));
  assert.ok(paint.includes('population'), paint.slice(0, 200));
  await explorer.page.selectOption('select[name="metric"]', 'count');
  await waitIdle(explorer.page, 'window.fengqiaoExplorer');
});

await check('explorer: drill-down county → township with breadcrumbs, and back', async () => {
  const region = version.region;
  const top = await api(`/api/units/${region.code}?from=${view.from}&to=${view.to}`, analystToken);
  const county = [...top.children].sort((a, b) => b.count - a.count)[0];
  await explorer.page.click(`#children tr[data-unit="${county.code}"]`);
  await explorer.page.waitForFunction((code) => window.fengqiaoExplorer.unit?.code === code, county.code, { timeout: 20000 });
  let crumbs = await explorer.page.$$eval('#breadcrumbs a, #breadcrumbs b', (e) => e.map((x) => x.textContent));
  assert.deepEqual(crumbs, [region.name, county.name]);
  await waitIdle(explorer.page, 'window.fengqiaoExplorer');
  const scoped = hexTiles(explorer.seen).filter((t) => t.q.get('unit') === county.code);
  assert.ok(scoped.length > 0, 'tiles of the county');
  const countyUnit = await api(`/api/units/${county.code}?from=${view.from}&to=${view.to}`, analystToken);
  const township = [...countyUnit.children].sort((a, b) => b.count - a.count)[0];
  await explorer.page.click(`#children tr[data-unit="${township.code}"]`);
  await explorer.page.waitForFunction((code) => window.fengqiaoExplorer.unit?.code === code, township.code, { timeout: 20000 });
  crumbs = await explorer.page.$$eval('#breadcrumbs a, #breadcrumbs b', (e) => e.map((x) => x.textContent));
  assert.deepEqual(crumbs, [region.name, county.name, township.name]);
  const kpis = await api(`/api/kpis?unit=${township.code}&from=${view.from}&to=${view.to}`, analystToken);
  const shown = await explorer.page.textContent('#details-kpis .kpi b');
  assert.ok(shown.startsWith(String(kpis.summary.cases)), `${shown} vs ${kpis.summary.cases}`);
  await explorer.page.screenshot({ path: join(artifacts, 'explore-township.png') });
  await explorer.page.click(`#breadcrumbs a[data-unit="${region.code}"]`);
  await explorer.page.waitForFunction((code) => window.fengqiaoExplorer.unit?.code === code, region.code, { timeout: 20000 });
});

await check('explorer: two periods side by side', async () => {
  await explorer.page.check('input[name="compare"]');
  await explorer.page.waitForFunction(() => window.fengqiaoExplorer.mapB?.loaded(), null, { timeout: 30000 });
  await explorer.page.waitForFunction(() => document.querySelectorAll('#details-kpis .kpi span').length > 4, null, { timeout: 20000 });
  const fromB = await explorer.page.inputValue('input[name="from_b"]');
  const b = hexTiles(explorer.seen).filter((t) => t.q.get('from') === fromB);
  assert.ok(b.length > 0, `tiles of period B (${fromB})`);
  const kpis = await api(`/api/kpis?from=${fromB}&to=${await explorer.page.inputValue('input[name="to_b"]')}`, analystToken);
  const text = await explorer.page.textContent('#details-kpis');
  assert.ok(text.includes(String(kpis.summary.cases)), `${text} shows period B's ${kpis.summary.cases}`);
  await explorer.page.screenshot({ path: join(artifacts, 'explore-compare.png') });
  await explorer.page.uncheck('input[name="compare"]');
});

await check('explorer: export the view as CSV, GeoJSON and a PNG with legend at twice the pixels', async () => {
  const save = async (button) => {
    const [download] = await Promise.all([explorer.page.waitForEvent('download'), explorer.page.click(button)]);
    const path = join(artifacts, download.suggestedFilename());
    await download.saveAs(path);
    return path;
  };
  const csv = readFileSync(await save('#export-csv'), 'utf8').trim().split('\n');
  assert.ok(csv[0].startsWith('h3,count'), csv[0]);
  assert.ok(csv.length > 10, `${csv.length} rows`);
  const geojson = JSON.parse(readFileSync(await save('#export-geojson'), 'utf8'));
  assert.equal(geojson.type, 'FeatureCollection');
  assert.equal(geojson.features.length, csv.length - 1, 'the same cells in both');
  const png = readFileSync(await save('#export-png'));
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const width = png.readUInt32BE(16);
  const mapWidth = (await explorer.page.locator('#map-a').boundingBox()).width;
  assert.ok(Math.abs(width - 2 * mapWidth) <= 2, `PNG ${width} px for a ${mapWidth} px map`);
});

await check('explorer: a display token is refused the details', async () => {
  const response = await fetch(`${base}/api/profile?unit=${version.region.code}`, { headers: { Authorization: `Bearer ${displayToken}` } });
  assert.equal(response.status, 403);
});

await check('wall: an ingest through the API refreshes the open wall by its event stream', async () => {
  const before = await wall.page.evaluate(() => ({ ...window.fengqiaoWall.state }));
  const body = readFileSync(process.env.MORE_CASES);
  const response = await fetch(`${base}/api/ingest?name=more.csv`, {
    method: 'POST', body, headers: { Authorization: `Bearer ${process.env.ADMIN_TOKEN}`, 'Content-Type': 'text/csv' },
  });
  assert.equal(response.status, 200, await response.text());
  const { version: newVersion } = await api('/api/version', displayToken);
  assert.ok(newVersion > before.version);
  await wall.page.waitForFunction((v) => window.fengqiaoWall.state.version === v
    && window.fengqiaoWall.state.refreshed > 0, newVersion, { timeout: 30000 });
  await wall.page.waitForFunction((n) => window.fengqiaoWall.state.refreshed > n, before.refreshed, { timeout: 30000 });
  const now = await api('/api/version', displayToken);
  assert.equal(await wall.page.evaluate(() => window.fengqiaoWall.state.lastDay), now.last_day);
  assert.notEqual(now.last_day, last, 'the new cases are later');
  const week = (await api(`/api/kpis?from=${addDays(now.last_day, -6)}&to=${now.last_day}`, displayToken)).summary;
  await wall.page.waitForFunction((n) => document.querySelector('[data-kpi="cases"] b')?.textContent === String(n), week.cases, { timeout: 30000 });
  await waitIdle(wall.page, 'window.fengqiaoWall');
  const tiles = hexTiles(wall.seen).filter((t) => t.q.get('to') === now.last_day && t.q.get('v') === String(now.version));
  assert.ok(tiles.length > 0, 'the map shows the new week at the new version');
  await wall.page.screenshot({ path: join(artifacts, 'wall-after-ingest.png') });
  assert.deepEqual(wall.seen.errors, []);
});

await browser.close();
writeFileSync(join(artifacts, 'result.txt'), failures ? `${failures} failed\n` : 'all passed\n');
console.log(failures ? `${failures} browser check(s) failed; screenshots in ${artifacts}` : `all browser checks passed; screenshots in ${artifacts}`);
process.exit(failures ? 1 : 0);
