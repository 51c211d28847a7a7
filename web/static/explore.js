// The analyst explorer (研判): filters (period, category, class, channel, status, resolution), the
// hexagon map over the admin basemap, details of a clicked hexagon or unit (figures, categories, a
// weekly sparkline, villages, recurring problems, alerts), drill-down county → township → village →
// grid with breadcrumbs, comparison of two periods side by side, and export of the current view as
// CSV, GeoJSON and a high-resolution PNG with its legend; the briefings the server lists (made by
// `fengqiao briefing`, POST /briefings/ or `serve --briefing-schedule`). The view lives in the URL,
// so a link reproduces it. Needs an analyst token (`?token=…`) when the server has tokens.
import { Map as MapLibre, setWorkerUrl } from '/static/vendor/maplibre-gl/maplibre-gl.mjs';
import {
  COLOURS, LEVELS, LOCAL_FONT, fontReady, RAMP, addDays, api, apiBlob, fitRegion, lang, loadVocabulary, mapStyle, options,
  percent, query, resolutionForZoom, tileJsonUrl, transformRequest, withToken, hexColour, MEASURE_TEXT, measureOption,
} from '/static/common.js';

setWorkerUrl('/static/vendor/maplibre-gl/maplibre-gl-worker.mjs');

const TEXT = {
  zh: { title: '矛盾纠纷研判', cases: '受理', closure: '办结率', onTime: '按时办结率', satisfaction: '满意度',
        categories: '纠纷类型', weekly: '近12周走势', villages: '涉及村（社区）', recurring: '类案（反复发生）',
        alerts: '预警', none: '暂无', cell: '网格单元', name: '名称', open: '在办', overdue: '超期',
        rate: '每万人', periodA: '时段A', periodB: '时段B', loading: '加载中…', ready: '就绪', weeks: '周',
        lead: '牵头', legendOther: '其他有案件的网格', exported: '已导出', expected: '预期',
        metric: { count: '其余网格：案件数', ratio: '其余网格：观测÷预期（1–4倍）', population: '其余网格：常住人口' } },
  en: { title: 'Dispute explorer', cases: 'Cases', closure: 'Closure', onTime: 'On time', satisfaction: 'Satisfaction',
        categories: 'Categories', weekly: 'Last 12 weeks', villages: 'Villages', recurring: 'Recurring problems',
        alerts: 'Alerts', none: 'None', cell: 'Cell', name: 'Name', open: 'Open', overdue: 'Overdue',
        rate: 'per 10k', periodA: 'Period A', periodB: 'Period B', loading: 'Loading…', ready: 'Ready',
        weeks: 'weeks', lead: 'lead', legendOther: 'other cells with cases', exported: 'Exported', expected: 'expected',
        metric: { count: 'other cells: cases', ratio: 'other cells: observed ÷ expected (1–4×)', population: 'other cells: residents' } },
}[lang];
const LABELS_EN = { title: 'Dispute explorer', period: 'Period', from: 'From', to: 'To', compare: 'Compare',
  compareOn: 'Compare with another period', category: 'Category', class: 'Class', channel: 'Channel',
  status: 'Status', res: 'Resolution', auto: 'By zoom', clear: 'Clear filters', children: 'Units below',
  hint: 'Click a hexagon or a unit for its details', png: 'PNG', briefings: 'Briefings', measure: 'Measure',
  metric: 'Other cells by', measureExcess: 'Risk (beyond expected)', measureRate: 'Risk (rate per 10k, EB)',
  measureCount: 'Workload (cases)', metricCount: 'Cases', metricRatio: 'Observed ÷ expected', metricPopulation: 'Residents' };

const [vocabulary] = await Promise.all([loadVocabulary(), fontReady()]);
const version = await api('/api/version');
const form = document.getElementById('filters');
const statusLine = document.getElementById('status');

/** Everything the view depends on; mirrored in the URL. */
const view = {
  from: options.get('from') || (version.last_day ? addDays(version.last_day, -29) : ''),
  to: options.get('to') || version.last_day || '',
  from_b: options.get('from_b') || '',
  to_b: options.get('to_b') || '',
  compare: options.get('compare') === '1',
  category: (options.get('category') || '').split(',').filter(Boolean),
  class: (options.get('class') || '').split(',').filter(Boolean),
  channel: (options.get('channel') || '').split(',').filter(Boolean),
  status: (options.get('status') || '').split(',').filter(Boolean),
  res: options.get('res') || '',
  measure: options.get('measure') === 'rate' ? 'rate' : measureOption(options.get('measure')),
  metric: ['count', 'ratio', 'population'].includes(options.get('metric')) ? options.get('metric') : 'count',
  unit: options.get('unit') || version.region.code,
  cell: options.get('cell') || '',
};
if (!view.from_b && view.from) {
  // Period B defaults to the same length just before period A.
  const length = Math.round((new Date(view.to) - new Date(view.from)) / 86400000) + 1;
  view.from_b = addDays(view.from, -length);
  view.to_b = addDays(view.from, -1);
}

/** The API's filter parameters of period A (or B). */
function filterParams(period = 'a') {
  const [from, to] = period === 'a' ? [view.from, view.to] : [view.from_b, view.to_b];
  return {
    from, to, category: view.category, class: view.class, channel: view.channel, status: view.status,
    unit: view.unit === version.region.code ? undefined : view.unit,
  };
}

function hexParams(period) {
  return { ...filterParams(period), res: view.res || undefined, measure: view.measure };
}

/** The residents and the ratio come with risk measures only: under workload the other cells show cases. */
function metricShown() {
  return view.measure === 'count' ? 'count' : view.metric;
}

/** The hexagons' colours for the view's metric (populations up to 20,000 a cell). */
function viewColour() {
  const metric = metricShown();
  return hexColour(metric === 'population' ? 20000 : 100, metric);
}

function say(text, error = false) {
  statusLine.textContent = text;
  statusLine.className = error ? 'error' : '';
}

/** Runs `work`, showing failures in the status line instead of breaking the page. */
async function guarded(work) {
  try {
    say(TEXT.loading);
    await work();
    say(TEXT.ready);
  } catch (e) {
    say(e.message, true);
    console.warn(e);
  }
}

// --- the form ---------------------------------------------------------------------------------

function fillSelect(name, kind) {
  const select = form.elements[name];
  select.innerHTML = vocabulary.list(kind)
    .map((v) => `<option value="${v.code}">${lang === 'zh' ? v.zh : v.en}</option>`).join('');
}
fillSelect('category', 'category');
fillSelect('class', 'class');
fillSelect('channel', 'channel');
fillSelect('status', 'status');

function writeForm() {
  for (const name of ['from', 'to', 'from_b', 'to_b', 'res', 'measure', 'metric']) form.elements[name].value = view[name];
  form.elements.compare.checked = view.compare;
  for (const name of ['category', 'class', 'channel', 'status']) {
    for (const option of form.elements[name].options) option.selected = view[name].includes(option.value);
  }
}

function readForm() {
  for (const name of ['from', 'to', 'from_b', 'to_b', 'res', 'measure', 'metric']) view[name] = form.elements[name].value;
  view.compare = form.elements.compare.checked;
  for (const name of ['category', 'class', 'channel', 'status']) {
    view[name] = [...form.elements[name].selectedOptions].map((o) => o.value);
  }
}

/** The view into the URL (the token stays as it was). */
function writeUrl() {
  const q = query({
    token: options.get('token') || undefined, lang: lang === 'en' ? 'en' : undefined,
    from: view.from, to: view.to, compare: view.compare ? 1 : undefined,
    from_b: view.compare ? view.from_b : undefined, to_b: view.compare ? view.to_b : undefined,
    category: view.category, class: view.class, channel: view.channel, status: view.status,
    res: view.res, unit: view.unit === version.region.code ? undefined : view.unit, cell: view.cell,
    measure: view.measure === 'excess' ? undefined : view.measure, metric: view.metric === 'count' ? undefined : view.metric,
  });
  history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}`);
}

// --- the maps ---------------------------------------------------------------------------------

function makeMap(container, period) {
  const map = new MapLibre({
    container,
    style: mapStyle(hexParams(period)),
    localIdeographFontFamily: LOCAL_FONT,
    transformRequest,
    attributionControl: { compact: true },
    fadeDuration: 0,
    // Kept so the PNG export can read the canvas.
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.on('load', () => map.setPaintProperty('hex', 'fill-color', viewColour()));
  return map;
}

const mapA = makeMap('map-a', 'a');
let mapB = null;
await fitRegion(mapA);

/** Keeps map B on map A's camera (and back). */
function link(a, b) {
  let moving = false;
  const follow = (from, to) => from.on('move', () => {
    if (moving) return;
    moving = true;
    to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
    moving = false;
  });
  follow(a, b);
  follow(b, a);
}

/** Points a map's hexagons at `url`, unless they already are (a reload would cancel its tiles). */
function pointHex(map, url) {
  const source = map.getSource('hex');
  if (source && source.url !== url) source.setUrl(url);
  if (map.getLayer('hex')) map.setPaintProperty('hex', 'fill-color', viewColour());
}

function applyTiles() {
  pointHex(mapA, tileJsonUrl('hex', hexParams('a')));
  document.getElementById('tag-a').textContent = `${TEXT.periodA} ${view.from} — ${view.to}`;
  const paneB = document.getElementById('pane-b');
  document.getElementById('tag-a').hidden = !view.compare;
  if (view.compare) {
    paneB.hidden = false;
    if (!mapB) {
      mapB = makeMap('map-b', 'b');
      mapB.jumpTo({ center: mapA.getCenter(), zoom: mapA.getZoom() });
      link(mapA, mapB);
      mapB.on('click', 'hex', (e) => selectCell(e.features[0].properties.h3));
    } else {
      pointHex(mapB, tileJsonUrl('hex', hexParams('b')));
    }
    document.getElementById('tag-b').textContent = `${TEXT.periodB} ${view.from_b} — ${view.to_b}`;
  } else {
    paneB.hidden = true;
  }
  mapA.resize();
  mapB?.resize();
  highlight();
}

function highlight() {
  for (const map of [mapA, mapB]) {
    if (map && map.getLayer('hex-selected')) map.setFilter('hex-selected', ['==', ['get', 'h3'], view.cell || '']);
  }
}

/** What the legend says: the measure the levels use, the levels, and what colours the other cells. */
function legendEntries() {
  const measure = view.measure === 'count' ? 'count' : 'excess';
  const title = `${MEASURE_TEXT[measure]}${view.measure === 'rate' ? (lang === 'zh' ? '（万人发案率）' : ' (rate)') : ''}: ${MEASURE_TEXT[`${measure}Note`]}`;
  const levels = LEVELS.map((code) => {
    const level = vocabulary.list('level').find((l) => l.code === code);
    return [COLOURS[code], lang === 'zh' ? `${level.zh} · ${level.responder_zh}` : level.en];
  });
  return { title, levels, other: TEXT.metric[metricShown()] };
}

function legend() {
  const { title, levels, other } = legendEntries();
  document.getElementById('legend').innerHTML = [
    `<div class="title" id="legend-measure">${title}</div>`,
    ...levels.map(([colour, name]) => `<div><i style="background:${colour}"></i>${name}</div>`),
    `<div><i style="background:linear-gradient(90deg, ${RAMP.join(',')})"></i>${other}</div>`,
  ].join('');
}

mapA.on('click', 'hex', (e) => selectCell(e.features[0].properties.h3));
for (const layer of ['hex']) {
  mapA.on('mouseenter', layer, () => { mapA.getCanvas().style.cursor = 'pointer'; });
  mapA.on('mouseleave', layer, () => { mapA.getCanvas().style.cursor = ''; });
}

// --- details ----------------------------------------------------------------------------------

const detailCharts = [];

function kpiBox(label, a, b, format = (x) => x) {
  let change = '';
  if (b !== undefined && typeof a === 'number' && typeof b === 'number' && b !== 0) {
    const delta = (a - b) / Math.abs(b);
    change = `<em class="${delta > 0 ? 'up' : 'down'}">${delta > 0 ? '+' : ''}${(100 * delta).toFixed(1)}%</em>`;
  }
  const vs = b !== undefined ? ` <span>(${TEXT.periodB} ${format(b)})</span>` : '';
  return `<div class="kpi"><b>${format(a)}${change}</b><span>${label}</span>${vs}</div>`;
}

function list(items, render) {
  return items.length ? `<ul class="items">${items.map(render).join('')}</ul>` : `<p>${TEXT.none}</p>`;
}

/** Shows a profile (and period B's when comparing) under `title`. */
function showProfile(title, profile, profileB) {
  document.getElementById('details-title').textContent = title;
  const s = profile.summary;
  const sb = profileB?.summary;
  const body = document.getElementById('details-body');
  body.innerHTML = `
    <div class="kpis" id="details-kpis">
      ${kpiBox(TEXT.cases, s.cases, sb?.cases)}
      ${kpiBox(TEXT.closure, s.closure_rate, sb?.closure_rate, percent)}
      ${kpiBox(TEXT.onTime, s.on_time_rate, sb?.on_time_rate, percent)}
      ${kpiBox(TEXT.satisfaction, s.satisfaction_rate, sb?.satisfaction_rate, percent)}
    </div>
    <h3>${TEXT.categories}</h3><div class="chart" id="chart-categories"></div>
    <h3>${TEXT.weekly}</h3><div class="chart spark" id="chart-weekly"></div>
    <h3>${TEXT.villages}</h3>
    <table id="villages"><tbody>${profile.villages.map((v) => `<tr class="link" data-unit="${v.code}">
      <td>${v.county_name} ${v.township_name} ${v.name}</td><td class="n">${v.cases}</td></tr>`).join('')}</tbody></table>
    <h3>${TEXT.recurring}</h3>
    ${list(profile.recurring, (p) => `<li>${p.township_name}${p.unit_name} · ${vocabulary.label('category', p.category)}
      · ${p.active_steps}/${p.window}${TEXT.weeks}${p.ratio == null ? '' : ` · ${p.cases_in_window}（${TEXT.expected}${p.expected_in_window.toFixed(1)}，${p.ratio.toFixed(1)}×）`}
      · ${TEXT.lead} ${p.department.lead}</li>`)}
    <h3>${TEXT.alerts}</h3>
    ${list(profile.alerts, (a) => `<li class="sev-${a.severity}">【${a.severity_zh}】${a.township_name}${a.unit_name}
      ${vocabulary.label('category', a.category)} ${a.observed}（${a.expected.toFixed(1)}）</li>`)}`;
  for (const row of body.querySelectorAll('tr[data-unit]')) {
    row.addEventListener('click', () => drill(row.dataset.unit));
  }
  while (detailCharts.length) detailCharts.pop().dispose();
  const top = profile.summary.by_category.slice(0, 8);
  const categories = echarts.init(document.getElementById('chart-categories'), 'dark');
  categories.setOption({
    backgroundColor: 'transparent', textStyle: { fontFamily: LOCAL_FONT }, animation: false,
    grid: { left: 4, right: 30, top: 4, bottom: 4, containLabel: true },
    xAxis: { type: 'value', splitLine: { lineStyle: { color: '#1e2b45' } } },
    yAxis: { type: 'category', inverse: true, data: top.map(([c]) => vocabulary.label('category', c)),
             axisLabel: { fontFamily: LOCAL_FONT } },
    series: [{ type: 'bar', data: top.map(([, n]) => n), itemStyle: { color: '#38bdf8' },
               label: { show: true, position: 'right', color: '#e5edf7' } }],
  });
  const weekly = echarts.init(document.getElementById('chart-weekly'), 'dark');
  weekly.setOption({
    backgroundColor: 'transparent', textStyle: { fontFamily: LOCAL_FONT }, animation: false,
    grid: { left: 4, right: 8, top: 8, bottom: 4, containLabel: true },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: profile.weeks, axisLabel: { show: false } },
    yAxis: { type: 'value', splitLine: { show: false } },
    series: [{ type: 'line', data: profile.weekly, symbol: 'none', areaStyle: { opacity: 0.25 },
               lineStyle: { color: '#f97316' }, itemStyle: { color: '#f97316' } }],
  });
  detailCharts.push(categories, weekly);
  window.fengqiaoExplorer.details = { title, profile, profileB };
}

async function profileOf(params) {
  const [a, b] = await Promise.all([
    api(`/api/profile?${query({ ...filterParams('a'), measure: view.measure, ...params })}`),
    view.compare ? api(`/api/profile?${query({ ...filterParams('b'), measure: view.measure, ...params })}`) : undefined,
  ]);
  return [a, b];
}

async function selectCell(h3) {
  view.cell = h3;
  writeUrl();
  highlight();
  await guarded(async () => {
    const [a, b] = await profileOf({ cell: h3 });
    const names = a.villages.slice(0, 2).map((v) => v.name).join('、');
    showProfile(`${TEXT.cell} ${h3}${names ? ` · ${names}` : ''}`, a, b);
  });
}

// --- drill-down -------------------------------------------------------------------------------

/** Opens `code`: breadcrumbs, its children with figures, its profile, the map fitted to it. */
async function drill(code, fit = true) {
  view.unit = code;
  view.cell = '';
  writeUrl();
  applyTiles();
  await guarded(async () => {
    const [unit, [a, b]] = await Promise.all([
      api(`/api/units/${encodeURIComponent(code)}?${query({ ...filterParams('a'), unit: undefined })}`),
      profileOf({}),
    ]);
    document.getElementById('breadcrumbs').innerHTML = unit.breadcrumbs
      .map((c, i) => (i === unit.breadcrumbs.length - 1 ? `<b>${c.name}</b>` : `<a data-unit="${c.code}">${c.name}</a>`))
      .join('<span class="sep">›</span>');
    for (const a of document.querySelectorAll('#breadcrumbs a')) a.addEventListener('click', () => drill(a.dataset.unit));
    const children = [...unit.children].sort((x, y) => (y.count ?? 0) - (x.count ?? 0));
    document.getElementById('children').innerHTML =
      `<thead><tr><th>${TEXT.name}</th><th class="n">${TEXT.cases}</th><th class="n">${TEXT.overdue}</th><th class="n">${TEXT.rate}</th></tr></thead>
       <tbody>${children.map((c) => `<tr class="link" data-unit="${c.code}"><td>${c.name}</td><td class="n">${c.count ?? '—'}</td>
         <td class="n">${c.overdue ?? '—'}</td><td class="n">${c.rate_per_10k == null ? '—' : c.rate_per_10k.toFixed(1)}</td></tr>`).join('')}</tbody>`;
    for (const row of document.querySelectorAll('#children tr[data-unit]')) {
      row.addEventListener('click', () => drill(row.dataset.unit));
    }
    if (fit) {
      const [w, s, e, n] = unit.bbox;
      mapA.fitBounds([[w, s], [e, n]], { padding: 30, duration: 0 });
    }
    showProfile(unit.breadcrumbs.map((c) => c.name).join(' '), a, b);
    window.fengqiaoExplorer.unit = unit;
  });
}

// --- export -----------------------------------------------------------------------------------

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** The cells of the current view: filters, unit, the resolution on screen and the map's bounds. */
function viewQuery(format) {
  const b = mapA.getBounds();
  const res = view.res || resolutionForZoom(Math.floor(mapA.getZoom()));
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(5)).join(',');
  return query({ ...filterParams('a'), res, bbox, nonzero: true, format, measure: view.measure });
}

function fileStem() {
  return `fengqiao-${view.unit}-${view.from}-${view.to}`;
}

async function exportTable(format) {
  await guarded(async () => {
    const blob = await apiBlob(`/api/heatmap?${viewQuery(format)}`);
    download(blob, `${fileStem()}.${format === 'csv' ? 'csv' : 'geojson'}`);
  });
}

/** The map at twice the screen's pixels, with a title, the filters, the legend and the sources. */
async function exportPng() {
  await guarded(async () => {
    const ratio = 2;
    const before = mapA.getPixelRatio();
    mapA.setPixelRatio(ratio * (window.devicePixelRatio || 1));
    await new Promise((resolve) => mapA.once('idle', resolve));
    const source = mapA.getCanvas();
    const scale = source.width / mapA.getContainer().clientWidth;
    const band = Math.round(70 * scale);
    const canvas = document.createElement('canvas');
    canvas.width = source.width;
    canvas.height = source.height + band;
    const g = canvas.getContext('2d');
    g.fillStyle = '#0b1220';
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.drawImage(source, 0, band);
    mapA.setPixelRatio(before);
    const font = (px) => `${Math.round(px * scale)}px ${LOCAL_FONT}`;
    g.fillStyle = '#e5edf7';
    g.font = font(20);
    const place = document.getElementById('breadcrumbs').textContent.replace(/›/g, ' › ');
    g.fillText(`${TEXT.title} · ${place}`, 14 * scale, 28 * scale);
    g.font = font(13);
    g.fillStyle = '#8da2c0';
    const filters = ['category', 'class', 'channel', 'status']
      .filter((k) => view[k].length)
      .map((k) => view[k].map((c) => vocabulary.label(k, c)).join('、'));
    g.fillText(`${view.from} — ${view.to}${filters.length ? ` · ${filters.join(' · ')}` : ''}`, 14 * scale, 52 * scale);
    // The legend, bottom left: the measure, the levels, the other cells.
    const legendText = legendEntries();
    const entries = [['transparent', legendText.title], ...legendText.levels, [RAMP[1], legendText.other]];
    const row = 22 * scale;
    const x0 = 14 * scale;
    const y0 = canvas.height - (entries.length * row + 40 * scale);
    g.fillStyle = 'rgba(17, 26, 46, 0.9)';
    g.fillRect(x0 - 8 * scale, y0 - 8 * scale, 300 * scale, entries.length * row + 16 * scale);
    g.font = font(13);
    entries.forEach(([colour, label], i) => {
      g.fillStyle = colour;
      g.fillRect(x0, y0 + i * row + 4 * scale, 14 * scale, 14 * scale);
      g.fillStyle = '#e5edf7';
      g.fillText(label, x0 + 22 * scale, y0 + i * row + 16 * scale);
    });
    g.font = font(10);
    g.fillStyle = '#8da2c0';
    g.fillText(document.querySelector('.maplibregl-ctrl-attrib-inner')?.textContent || '', x0, canvas.height - 10 * scale);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    download(blob, `${fileStem()}.png`);
  });
}

/** The newest briefings the server lists, with links to their PDF and HTML (hidden when the token
 * may not see briefings or the server keeps none). */
async function listBriefings() {
  const box = document.getElementById('briefings-box');
  try {
    const { briefings } = await api('/briefings/');
    box.hidden = briefings.length === 0;
    document.getElementById('briefings').innerHTML = briefings.slice(0, 12).map((b) => {
      const links = b.files.filter((f) => /\.(pdf|html)$/.test(f.name))
        .map((f) => `<a href="${withToken(f.url)}" target="_blank" rel="noopener">${f.name.split('.').pop().toUpperCase()}</a>`);
      return `<li data-briefing="${b.name}">${b.title} ${links.join(' ')}</li>`;
    }).join('');
  } catch {
    box.hidden = true;
  }
}

document.getElementById('export-csv').addEventListener('click', () => exportTable('csv'));
document.getElementById('export-geojson').addEventListener('click', () => exportTable('geojson'));
document.getElementById('export-png').addEventListener('click', exportPng);

// --- start ------------------------------------------------------------------------------------

if (lang === 'en') {
  document.documentElement.lang = 'en';
  document.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = LABELS_EN[e.dataset.i18n] || e.textContent; });
}
document.title = TEXT.title;
window.fengqiaoExplorer = { mapA, get mapB() { return mapB; }, view, details: null, unit: null };
writeForm();
legend();
form.addEventListener('change', () => {
  readForm();
  writeUrl();
  legend();
  applyTiles();
  if (view.cell) selectCell(view.cell); else drill(view.unit, false);
});
form.addEventListener('reset', () => setTimeout(() => form.dispatchEvent(new Event('change')), 0));
await drill(view.unit, view.unit !== version.region.code);
if (view.cell) await selectCell(view.cell);
await listBriefings();
window.fengqiaoExplorer.ready = true;
