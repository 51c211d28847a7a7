// The command-centre wall display (一屏观全域): the region map with the hexagon heat layer in the
// four-level colours over the offline admin basemap, intake and closure figures, the category mix,
// the top hot-spot clusters, emerging hot spots and an early-warning ticker. Nobody touches it: it
// refreshes when the server's event stream says the data changed, and can tour the red and orange
// clusters and play back the last 12 weeks.
//
// Kiosk options in the URL: token=…  lang=zh|en  days=7 (the period)  tour=1  playback=1
// Everything comes from this server: no CDN, no online basemap, no personal data.
import { Map as MapLibre, setWorkerUrl } from '/static/vendor/maplibre-gl/maplibre-gl.mjs';

setWorkerUrl('/static/vendor/maplibre-gl/maplibre-gl-worker.mjs');

const options = new URLSearchParams(location.search);
const token = options.get('token');
const lang = options.get('lang') === 'en' ? 'en' : 'zh';
const days = Math.max(1, Math.min(366, Number(options.get('days') || 7)));
const COLOURS = { red: '#dc2626', orange: '#f97316', yellow: '#facc15', blue: '#3b82f6' };
const TEXT = {
  zh: { title: '矛盾纠纷热力图', cases: '受理', closure: '办结率', onTime: '按时办结率', satisfaction: '满意度',
        today: '当日', period: '近{n}日', none: '暂无' },
  en: { title: 'Contradiction heat map', cases: 'Cases', closure: 'Closure', onTime: 'On time',
        satisfaction: 'Satisfaction', today: 'Last day', period: 'Last {n} days', none: 'None' },
}[lang];
const HEADINGS_EN = { intake: 'Intake', classes: 'Intake by class', categories: 'Categories',
                      clusters: 'Hot-spot clusters', emerging: 'New and intensifying', alerts: 'Alerts' };

/** GET a JSON document from this server, with the token when the URL gives one. */
async function api(path) {
  const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

/** `path?query`, with the token for URLs the browser fetches itself (tiles, event stream). */
function withToken(path) {
  if (!token) return path;
  return `${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
}

function day(date) { return date.toISOString().slice(0, 10); }

let state = { version: null, lastDay: null, clusters: [], tourIndex: 0 };

const map = new MapLibre({
  container: 'map',
  attributionControl: { compact: true },
  style: {
    version: 8,
    // Glyphs for non-CJK text come from this server (empty: labels are Chinese and drawn with the
    // local font below).
    glyphs: `${location.origin}/fonts/{fontstack}/{range}.pbf`,
    sources: {
      admin: { type: 'vector', url: `${location.origin}${withToken('/tiles/admin.json')}` },
      hex: { type: 'vector', url: `${location.origin}${withToken('/tiles/hex.json')}` },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#0b1220' } },
      { id: 'county-fill', type: 'fill', source: 'admin', 'source-layer': 'boundary',
        filter: ['==', ['get', 'level'], 'county'], paint: { 'fill-color': '#111a2e' } },
      { id: 'hex', type: 'fill', source: 'hex', 'source-layer': 'hex',
        paint: {
          'fill-color': ['match', ['coalesce', ['get', 'level'], ''],
            'red', COLOURS.red, 'orange', COLOURS.orange, 'yellow', COLOURS.yellow, 'blue', COLOURS.blue,
            ['interpolate', ['linear'], ['coalesce', ['get', 'count'], 0], 0, '#16324a', 20, '#2b6c8f', 100, '#5ec4c0']],
          'fill-opacity': ['case', ['has', 'level'], 0.9, 0.55],
        } },
      { id: 'boundary', type: 'line', source: 'admin', 'source-layer': 'boundary',
        paint: { 'line-color': ['match', ['get', 'level'], 'city', '#7dd3fc', 'county', '#38bdf8', '#24405f'],
                 'line-width': ['match', ['get', 'level'], 'city', 2, 'county', 1.4, 0.6] } },
      { id: 'label', type: 'symbol', source: 'admin', 'source-layer': 'label',
        layout: { 'text-field': ['get', 'name'], 'text-size': ['match', ['get', 'level'], 'county', 16, 12],
                  'text-font': ['Noto Sans CJK SC Regular'] },
        paint: { 'text-color': '#cbd5e1', 'text-halo-color': '#0b1220', 'text-halo-width': 1.5 } },
    ],
  },
  localIdeographFontFamily: '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif',
  bounds: [[112.22, 24.89], [114.23, 26.84]],
  fitBoundsOptions: { padding: 20 },
});

const charts = {
  classes: echarts.init(document.getElementById('classes'), 'dark', { renderer: 'canvas' }),
  categories: echarts.init(document.getElementById('categories'), 'dark', { renderer: 'canvas' }),
};
addEventListener('resize', () => { map.resize(); Object.values(charts).forEach((c) => c.resize()); });

function percent(x) { return x == null ? '—' : `${(100 * x).toFixed(1)}%`; }

function kpi(value, label) {
  return `<div class="kpi"><b>${value}</b><span>${label}</span></div>`;
}

/** The period's filter: the `days` days ending on the last day with cases. */
function period() {
  const last = new Date(`${state.lastDay}T00:00:00Z`);
  const first = new Date(last.getTime() - (days - 1) * 86400000);
  return { from: day(first), to: day(last) };
}

async function refreshPanels() {
  const { from, to } = period();
  const [week, today, hotspots, trends, alerts] = await Promise.all([
    api(`/api/kpis?from=${from}&to=${to}`),
    api(`/api/kpis?from=${to}&to=${to}`),
    api(`/api/hotspots?from=${from}&to=${to}`),
    api(`/api/trends?res=7&steps=12&to=${to}`),
    api(`/api/alerts?as_of=${to}&limit=12`),
  ]);
  document.getElementById('period').textContent = `${TEXT.period.replace('{n}', days)} ${from} — ${to}`;
  const s = week.summary;
  document.getElementById('kpis').innerHTML = [
    kpi(today.summary.cases, TEXT.today), kpi(s.cases, TEXT.cases), kpi(percent(s.closure_rate), TEXT.closure),
    kpi(percent(s.on_time_rate), TEXT.onTime), kpi(percent(s.satisfaction_rate), TEXT.satisfaction),
    kpi(hotspots.filter((c) => c.level === 'red' || c.level === 'orange').length, '红/橙'),
  ].join('');
  charts.classes.setOption({
    backgroundColor: 'transparent', grid: { left: 90, right: 10, top: 5, bottom: 20 },
    xAxis: { type: 'value' }, yAxis: { type: 'category', data: s.by_class.map(([c]) => c) },
    series: [{ type: 'bar', data: s.by_class.map(([, n]) => n), itemStyle: { color: '#38bdf8' } }],
  });
  charts.categories.setOption({
    backgroundColor: 'transparent',
    series: [{ type: 'pie', radius: ['35%', '70%'], label: { color: '#cbd5e1' },
               data: s.by_category.slice(0, 8).map(([name, value]) => ({ name, value })) }],
  });
  state.clusters = hotspots.filter((c) => c.level === 'red' || c.level === 'orange');
  document.getElementById('clusters').innerHTML = hotspots.slice(0, 6).map((c) =>
    `<li><span class="level ${c.level}"></span>${(c.townships[0] || c.counties[0] || {}).name || ''}` +
    ` ${c.villages.slice(0, 2).map((v) => v.name).join('、')} — ${c.reason}</li>`).join('') || `<li>${TEXT.none}</li>`;
  const rising = trends.locations.filter((l) => ['new_hot_spot', 'consecutive_hot_spot', 'intensifying_hot_spot'].includes(l.pattern));
  document.getElementById('emerging').innerHTML = rising.slice(0, 6).map((l) =>
    `<li>${l.name}：${l.pattern_zh || l.pattern}</li>`).join('') || `<li>${TEXT.none}</li>`;
  document.getElementById('ticker').textContent = alerts.map((a) =>
    `【${a.severity_zh}】${a.county_name}${a.township_name}${a.unit_name} ${a.category_zh} ${a.observed}件（预期${a.expected.toFixed(1)}）`).join('　　') || TEXT.none;
}

/** Points the tile sources at the current data version (their TileJSON carries it). */
function refreshTiles() {
  for (const id of ['hex', 'admin']) {
    const source = map.getSource(id);
    if (source) source.setUrl(`${location.origin}${withToken(`/tiles/${id}.json`)}`);
  }
}

/** Reloads every panel; a failure is shown in the ticker (the wall keeps running and retries on
 * the next data event or in a minute). */
async function refreshAll() {
  try {
    const v = await api('/api/version');
    state.version = v.version;
    state.lastDay = v.last_day;
    if (state.lastDay) await refreshPanels();
  } catch (e) {
    document.getElementById('ticker').textContent = `${lang === 'zh' ? '数据暂不可用' : 'Data unavailable'}: ${e.message}`;
  }
}

function clock() {
  document.getElementById('clock').textContent = new Date().toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB');
}

function tour() {
  if (state.clusters.length === 0) return;
  const c = state.clusters[state.tourIndex++ % state.clusters.length];
  map.flyTo({ center: [c.lng, c.lat], zoom: 11, speed: 0.6 });
}

/** Plays back the last 12 weeks, one a few seconds, then starts again. */
function playback() {
  let week = 0;
  setInterval(() => {
    const last = new Date(`${state.lastDay}T00:00:00Z`);
    const to = new Date(last.getTime() - (11 - week) * 7 * 86400000);
    const from = new Date(to.getTime() - 6 * 86400000);
    map.getSource('hex')?.setUrl(`${location.origin}${withToken(`/tiles/hex.json?from=${day(from)}&to=${day(to)}`)}`);
    document.getElementById('period').textContent = `${day(from)} — ${day(to)}`;
    week = (week + 1) % 12;
  }, 4000);
}

document.getElementById('title').textContent = TEXT.title;
if (lang === 'en') {
  document.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = HEADINGS_EN[e.dataset.i18n] || e.textContent; });
}
clock();
setInterval(clock, 1000);
await refreshAll();
const events = new EventSource(withToken('/api/events'));
events.addEventListener('data', () => { refreshTiles(); refreshAll(); });
setInterval(refreshAll, 60000);
if (options.get('tour') === '1') setInterval(tour, 15000);
if (options.get('playback') === '1') playback();
window.fengqiaoWall = { map, charts, state };
