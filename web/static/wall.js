// The command-centre wall display (一屏观全域): the region map with the hexagon heat layer in the
// four-level colours over the offline admin basemap; today's and the period's intake by class, the
// category mix, 办结率 / 按时办结率 / 满意度, the top hot-spot clusters, emerging hot spots and an
// early-warning ticker. Nobody touches it: it refreshes when the server's event stream says the data
// changed (and every minute, for the clock's day), can tour the red and orange clusters, and can play
// back the last 12 weeks with a fixed colour scale.
//
// Kiosk options in the URL: token=… (a display token)  lang=zh|en  days=7 (the period)
// unit=CODE (a county or township instead of the region)  tour=1 tour_seconds=15
// playback=week|cumulative playback_seconds=5  measure=excess|count (risk, the default, or the
// workload; the legend's toggle switches it)  measure_seconds=N (alternate the two every N seconds). Everything comes from this server; nothing on it names a person.
import { Map as MapLibre, Popup, setWorkerUrl } from '/static/vendor/maplibre-gl/maplibre-gl.mjs';
import {
  COLOURS, LEVELS, LOCAL_FONT, fontReady, addDays, api, fitRegion, hexColour, lang, loadVocabulary, mapStyle, options,
  eventStream, percent, query, resolutionForZoom, tileJsonUrl, transformRequest, MEASURES, MEASURE_TEXT, measureOption,
} from '/static/common.js';

setWorkerUrl('/static/vendor/maplibre-gl/maplibre-gl-worker.mjs');

const days = Math.max(1, Math.min(366, Number(options.get('days') || 7)));
const unit = options.get('unit') || undefined;
const playbackMode = { 1: 'week', week: 'week', cumulative: 'cumulative' }[options.get('playback')];
const tourSeconds = Math.max(1, Number(options.get('tour_seconds') || 15));
const playbackSeconds = Math.max(1, Number(options.get('playback_seconds') || 5));
const TEXT = {
  zh: { title: '矛盾纠纷热力图', today: '当日受理', period: '近{n}日受理', closure: '办结率', onTime: '按时办结率',
        satisfaction: '满意度', redOrange: '红/橙聚集区', none: '暂无', week: '第{k}/12周', cumulative: '累计',
        playback: '回放', unavailable: '数据暂不可用', series: ['当日', '近{n}日'], cases: '件', expected: '预期', rules: '响应规则' },
  en: { title: 'Contradiction heat map', today: 'Last day', period: 'Last {n} days', closure: 'Closure',
        onTime: 'On time', satisfaction: 'Satisfaction', redOrange: 'Red/orange', none: 'None',
        week: 'week {k}/12', cumulative: 'cumulative', playback: 'Playback', unavailable: 'Data unavailable',
        series: ['Last day', 'Last {n} days'], cases: 'cases', expected: 'expected', rules: 'Rules' },
}[lang];
const HEADINGS_EN = { intake: 'Intake', classes: 'Intake by class', categories: 'Categories',
                      clusters: 'Hot-spot clusters', emerging: 'New and intensifying', alerts: 'Alerts' };

const [vocabulary] = await Promise.all([loadVocabulary(), fontReady()]);
const state = {
  version: null, lastDay: null, clusters: [], tourIndex: 0, playback: null, refreshed: 0,
  measure: measureOption(options.get('measure')),
};
const first = await api('/api/version');
state.version = first.version;
state.lastDay = first.last_day;

const map = new MapLibre({
  container: 'map',
  style: mapStyle(state.lastDay ? { unit, measure: state.measure, ...period() } : { unit, measure: state.measure }),
  attributionControl: { compact: true },
  localIdeographFontFamily: LOCAL_FONT,
  transformRequest,
  fadeDuration: 0,
});
const charts = {
  classes: echarts.init(document.getElementById('classes'), 'dark', { renderer: 'canvas' }),
  categories: echarts.init(document.getElementById('categories'), 'dark', { renderer: 'canvas' }),
};
addEventListener('resize', () => map.resize());
// The panels' heights change as their neighbours fill: each chart follows its box.
for (const chart of Object.values(charts)) new ResizeObserver(() => chart.resize()).observe(chart.getDom());

/** The hexagon legend: what the map measures (with the toggle between risk and workload), the four
 * levels and who responds, under the name of the response rules in force. */
function legend() {
  const toggle = MEASURES.map((m) =>
    `<button type="button" data-measure="${m}" class="${m === state.measure ? 'on' : ''}">${MEASURE_TEXT[m]}</button>`).join('');
  const levels = LEVELS.map((code) => {
    const level = vocabulary.list('level').find((l) => l.code === code);
    const name = lang === 'zh' ? `${level.zh} · ${level.responder_zh}` : level.en;
    return `<div><i style="background:${COLOURS[code]}"></i>${name}</div>`;
  }).join('');
  const box = document.getElementById('legend');
  box.innerHTML = `<div class="measure">${toggle}</div><div class="note" id="measure-note">${MEASURE_TEXT[`${state.measure}Note`]}</div>${levels}`;
  const rules = document.createElement('div');
  rules.className = 'rules';
  rules.textContent = `${TEXT.rules}：${first.rules ?? ''}`;
  box.children[1].after(rules);
  for (const button of box.querySelectorAll('button[data-measure]')) {
    button.addEventListener('click', () => setMeasure(button.dataset.measure));
  }
  const heading = document.querySelector('[data-i18n="clusters"]');
  heading.textContent = `${MEASURE_TEXT[state.measure]} · ${lang === 'zh' ? '热点聚集区' : HEADINGS_EN.clusters}`;
}

/** Switches the map, the clusters and the emerging hot spots to `measure`, and keeps it in the URL. */
async function setMeasure(measure) {
  if (measure === state.measure) return;
  state.measure = measure;
  const url = new URL(location.href);
  url.searchParams.set('measure', measure);
  history.replaceState(null, '', url);
  legend();
  refreshTiles();
  await refreshPanels();
}

/** A size in px that is `vh` hundredths of the screen height (charts scale with the wall). */
function vh(x) { return Math.round((innerHeight * x) / 100); }

/** A figure; one the display projection withholds (too few cases to show) is a dash. */
function kpi(value, label, id) {
  return `<div class="kpi" data-kpi="${id}"><b>${value ?? '—'}</b><span>${label}</span></div>`;
}

/** The period: `days` days ending on the last day with cases. */
function period() {
  return { from: addDays(state.lastDay, 1 - days), to: state.lastDay };
}

/** The largest cell count the hexagons show for each period, at the resolution the map draws. */
async function largestCount(periods) {
  const res = resolutionForZoom(Math.floor(map.getZoom()));
  const maxima = await Promise.all(periods.map(({ from, to }) =>
    api(`/api/heatmap?${query({ res, from, to, unit, measure: 'count' })}`)
      .then((d) => d.cells.reduce((m, c) => Math.max(m, c.count ?? 0), 0))));
  return Math.max(1, ...maxima);
}

async function refreshPanels() {
  const { from, to } = period();
  const [week, today, hotspots, trends, alerts] = await Promise.all([
    api(`/api/kpis?${query({ from, to, unit })}`),
    api(`/api/kpis?${query({ from: to, to, unit })}`),
    api(`/api/hotspots?${query({ from, to, unit, measure: state.measure })}`),
    api(`/api/trends?${query({ res: 7, steps: 12, to, unit, measure: state.measure })}`),
    api(`/api/alerts?${query({ as_of: to, limit: 12, unit })}`),
  ]);
  if (!state.playback) {
    document.getElementById('period').textContent = `${from} — ${to}`;
  }
  const s = week.summary;
  const redOrange = hotspots.filter((c) => c.level === 'red' || c.level === 'orange');
  document.getElementById('kpis').innerHTML = [
    kpi(today.summary.cases, TEXT.today, 'today'),
    kpi(s.cases, TEXT.period.replace('{n}', days), 'cases'),
    kpi(percent(s.closure_rate), TEXT.closure, 'closure'),
    kpi(percent(s.on_time_rate), TEXT.onTime, 'on_time'),
    kpi(percent(s.satisfaction_rate), TEXT.satisfaction, 'satisfaction'),
    kpi(redOrange.length, TEXT.redOrange, 'red_orange'),
  ].join('');
  const classes = s.by_class.map(([code]) => vocabulary.label('class', code));
  const todayByClass = Object.fromEntries(today.summary.by_class);
  const font = { fontFamily: LOCAL_FONT, fontSize: vh(1.25) };
  const barLabel = { show: true, position: 'right', color: '#e5edf7', fontFamily: LOCAL_FONT, fontSize: vh(1.1) };
  charts.classes.setOption({
    backgroundColor: 'transparent',
    textStyle: font,
    legend: { top: 0, right: 0, itemWidth: vh(1.6), itemHeight: vh(1), textStyle: { ...font, color: '#8da2c0' } },
    grid: { left: vh(0.8), right: vh(4), top: vh(2.2), bottom: 0, containLabel: true },
    xAxis: { type: 'value', axisLabel: { ...font, fontSize: vh(1.1) }, splitLine: { lineStyle: { color: '#1e2b45' } } },
    yAxis: { type: 'category', data: classes, inverse: true, axisLabel: font },
    series: [
      { name: TEXT.series[0], type: 'bar', data: s.by_class.map(([code]) => todayByClass[code] ?? 0),
        itemStyle: { color: '#facc15' }, label: barLabel },
      { name: TEXT.series[1].replace('{n}', days), type: 'bar', data: s.by_class.map(([, n]) => n),
        itemStyle: { color: '#38bdf8' }, label: barLabel },
    ],
  }, true);
  const top = s.by_category.slice(0, 8);
  const rest = s.by_category.slice(8).reduce((sum, [, n]) => sum + n, 0);
  charts.categories.setOption({
    backgroundColor: 'transparent',
    textStyle: font,
    series: [{ type: 'pie', radius: ['38%', '68%'], label: { color: '#cbd5e1', formatter: '{b} {d}%', fontFamily: LOCAL_FONT, fontSize: vh(1.2) },
               data: [...top.map(([code, value]) => ({ name: vocabulary.label('category', code), value })),
                      ...(rest > 0 ? [{ name: lang === 'zh' ? '其余' : 'Rest', value: rest }] : [])] }],
  }, true);
  state.clusters = redOrange;
  document.getElementById('clusters').innerHTML = hotspots.slice(0, 6).map((c) =>
    `<li title="${c.reason}"><span class="level ${c.level}"></span><b>${placeOf(c)}</b> ${c.reason}</li>`).join('') || `<li>${TEXT.none}</li>`;
  // Cells are named after their nearest village: one line per village.
  const rising = trends.locations
    .filter((l) => ['new_hot_spot', 'consecutive_hot_spot', 'intensifying_hot_spot'].includes(l.pattern))
    .sort((a, b) => (b.total ?? 0) - (a.total ?? 0))
    .filter((l, i, all) => all.findIndex((m) => m.name === l.name) === i);
  document.getElementById('emerging').innerHTML = rising.slice(0, 6).map((l) =>
    `<li><b>${l.name}</b> ${vocabulary.label('pattern', l.pattern)}</li>`).join('') || `<li>${TEXT.none}</li>`;
  const ticker = alerts.map((a) =>
    `<span class="alert ${a.severity}">【${a.severity_zh}】${a.county_name}${a.township_name}${a.unit_name} ` +
    `${vocabulary.label('category', a.category)} ${a.observed ?? '—'}${TEXT.cases}` +
    `（${TEXT.expected}${a.expected == null ? '—' : a.expected.toFixed(1)}）</span>`).join('');
  // Twice, so the scroll loops without a gap.
  document.getElementById('ticker').innerHTML = ticker ? `<div class="run">${ticker}${ticker}</div>` : TEXT.none;
  if (!state.playback) map.setPaintProperty('hex', 'fill-color', await fill([{ from, to }]));
}

/** The hexagons' colours: under risk, only the levels stand out; under workload, the ramp is scaled
 * to the largest count the periods show. */
async function fill(periods) {
  if (state.measure !== 'count') return hexColour(0, 'none');
  return hexColour(await largestCount(periods));
}

/** The name of a cluster's place: its first township and villages. */
function placeOf(cluster) {
  const township = (cluster.townships[0] || cluster.counties[0] || {}).name || '';
  return `${township} ${cluster.villages.slice(0, 2).map((v) => v.name).join('、')}`;
}

/** Points the tile sources at the current data version (their TileJSON carries it). */
function refreshTiles() {
  if (!state.playback) map.getSource('hex')?.setUrl(tileJsonUrl('hex', { unit, measure: state.measure, ...period() }));
  map.getSource('admin')?.setUrl(tileJsonUrl('admin'));
}

/** Reloads everything; a failure is shown in the ticker and retried on the next event or minute. */
async function refreshAll() {
  try {
    const v = await api('/api/version');
    const changed = v.version !== state.version || v.last_day !== state.lastDay;
    state.version = v.version;
    state.lastDay = v.last_day;
    if (!state.lastDay) return;
    if (changed) refreshTiles();
    await refreshPanels();
    state.refreshed += 1;
  } catch (e) {
    document.getElementById('ticker').textContent = `${TEXT.unavailable}: ${e.message}`;
  }
}

function clock() {
  document.getElementById('clock').textContent = new Date().toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB');
}

const tourPopup = new Popup({ closeButton: false, closeOnClick: false, className: 'tour' });

/** Flies to the next red or orange cluster and names it. */
function tour() {
  if (state.clusters.length === 0) return;
  const c = state.clusters[state.tourIndex++ % state.clusters.length];
  map.flyTo({ center: [c.lng, c.lat], zoom: 10.5, duration: 0.6 * tourSeconds * 1000 });
  tourPopup.setLngLat([c.lng, c.lat]).setHTML(`<b>${placeOf(c)}</b><br>${c.reason}`).addTo(map);
}

/** Plays back the last 12 weeks, one every `playback_seconds`, each week alone or cumulative, with
 * the colour scale fixed at the largest count any of the 12 frames shows. */
async function playback(mode) {
  const last = state.lastDay;
  const start = addDays(last, -7 * 12 + 1);
  const frames = Array.from({ length: 12 }, (_, i) => {
    const to = addDays(last, -7 * (11 - i));
    return { from: mode === 'cumulative' ? start : addDays(to, -6), to };
  });
  const max = await largestCount(frames);
  map.setPaintProperty('hex', 'fill-color', state.measure === 'count' ? hexColour(max) : hexColour(0, 'none'));
  state.playback = { mode, frames, index: -1, max };
  const step = () => {
    const p = state.playback;
    p.index = (p.index + 1) % frames.length;
    const frame = frames[p.index];
    map.getSource('hex')?.setUrl(tileJsonUrl('hex', { unit, measure: state.measure, ...frame }));
    const label = mode === 'cumulative' ? TEXT.cumulative : TEXT.week.replace('{k}', p.index + 1);
    document.getElementById('period').textContent = `${TEXT.playback} ${label} · ${frame.from} — ${frame.to}`;
    document.getElementById('progress').style.width = `${(100 * (p.index + 1)) / frames.length}%`;
  };
  step();
  setInterval(step, playbackSeconds * 1000);
}

document.getElementById('title').textContent = TEXT.title;
document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
if (lang === 'en') {
  document.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = HEADINGS_EN[e.dataset.i18n] || e.textContent; });
}
legend();
clock();
setInterval(clock, 1000);
if (unit) {
  const u = await api(`/api/units/${encodeURIComponent(unit)}`);
  map.fitBounds([[u.bbox[0], u.bbox[1]], [u.bbox[2], u.bbox[3]]], { padding: 20, duration: 0 });
} else {
  await fitRegion(map);
}
await refreshAll();
eventStream('/api/events', {
  data: () => refreshAll(),
  // After a lost connection (a server restart) the stream says hello with the version it serves.
  hello: (data) => { if (JSON.parse(data).version !== state.version) refreshAll(); },
});
setInterval(refreshAll, 60000);
if (options.get('tour') === '1') setInterval(tour, 1000 * tourSeconds);
const measureSeconds = Number(options.get('measure_seconds') || 0);
if (measureSeconds > 0) {
  setInterval(() => setMeasure(state.measure === 'count' ? 'excess' : 'count'), Math.max(10, measureSeconds) * 1000);
}
if (playbackMode && state.lastDay) await playback(playbackMode);
window.fengqiaoWall = { map, charts, state, tourPopup, setMeasure, ready: true };
