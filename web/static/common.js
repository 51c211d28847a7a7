// What the wall display and the explorer share: the URL's options, calls to this server's API with
// the token, the names of coded values (from /api/vocabulary, in Chinese or English), and the map
// style: the server's own admin basemap under the hexagon layer in the four-level colours.
// Nothing here reaches beyond this server.

export const options = new URLSearchParams(location.search);
export const token = options.get('token');
export const lang = options.get('lang') === 'en' ? 'en' : 'zh';

/** The four response levels (蓝 grid · 黄 township · 橙 multi-department · 红 county special team). */
export const COLOURS = { red: '#dc2626', orange: '#f97316', yellow: '#facc15', blue: '#3b82f6' };
export const LEVELS = ['red', 'orange', 'yellow', 'blue'];
/** Cells with cases but no hot-spot level: a teal ramp by count. */
export const RAMP = ['#16324a', '#2b6c8f', '#5ec4c0'];

function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** GET a JSON document from this server; a failure names the path and the server's message. */
export async function api(path) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) {
    let message = `${response.status}`;
    try { message += ` ${(await response.json()).error}`; } catch { /* not JSON */ }
    throw new Error(`${path}: ${message}`);
  }
  return response.json();
}

/** GET any document (CSV, GeoJSON) as a Blob. */
export async function apiBlob(path) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.blob();
}

/** Server-sent events from this server with the token as a header (EventSource cannot send one,
 * and the server takes tokens in URLs for tiles only): calls `on[event](data)` for each event, and
 * reconnects 3 s after the stream ends (a server restart). */
export function eventStream(path, on) {
  const connect = async () => {
    try {
      const response = await fetch(path, { headers: { ...authHeaders(), Accept: 'text/event-stream' } });
      if (!response.ok || !response.body) throw new Error(`${path}: ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length && on[event]) on[event](data.join('\n'));
        }
      }
    } catch { /* the stream was lost: reconnect below */ }
    setTimeout(connect, 3000);
  };
  connect();
}

/** `path?query` with the token, for links the browser opens itself (a briefing's PDF or HTML: the
 * server takes URL tokens there and on tiles only). */
export function withToken(path) {
  if (!token) return path;
  return `${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
}

/** MapLibre's `transformRequest`: the token as a header on this server's tiles and TileJSON (the
 * TileJSON's tile URLs never carry it). */
export function transformRequest(url) {
  if (token && url.startsWith(location.origin)) return { url, headers: { Authorization: `Bearer ${token}` } };
  return { url };
}

/** A query string from an object, leaving out empty values; lists are joined with commas. */
export function query(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(Array.isArray(v) ? v.join(',') : v)}`)
    .join('&');
}

export function day(date) { return date.toISOString().slice(0, 10); }

/** `first`..`last` (YYYY-MM-DD) shifted by `days`. */
export function addDays(text, days) {
  return day(new Date(new Date(`${text}T00:00:00Z`).getTime() + days * 86400000));
}

export function percent(x) { return x == null ? '—' : `${(100 * x).toFixed(1)}%`; }

/** Loads the names of the coded values once: `label('category', 'labour')` → 劳动争议 / Labour. */
export async function loadVocabulary() {
  const vocabulary = await api('/api/vocabulary');
  const names = {};
  for (const [kind, values] of Object.entries(vocabulary)) {
    names[kind] = Object.fromEntries(values.map((v) => [v.code, v[lang] || v.zh]));
  }
  return {
    list: (kind) => vocabulary[kind],
    label: (kind, code) => (names[kind] && names[kind][code]) || code || '',
  };
}

/** The resolution the server's hexagon tiles use at a zoom (the same table as `tiles::layers`). */
export function resolutionForZoom(z) {
  if (z <= 7) return 6;
  if (z <= 9) return 7;
  if (z <= 11) return 8;
  return 9;
}

/** What the map measures (the `measure` parameter of tiles and API): risk — cases beyond what the
 * residents and the period explain, the default — or the workload as counted. */
export const MEASURES = ['excess', 'count'];
export const MEASURE_TEXT = {
  zh: { excess: '风险', count: '工作量', excessNote: '超出人口与时段预期的程度定级', countNote: '按案件数定级（人口多处案件多）' },
  en: { excess: 'Risk', count: 'Workload', excessNote: 'levels by cases beyond what residents and season explain',
        countNote: 'levels by case counts (more people, more cases)' },
}[lang];

/** The `measure` asked for in the URL (aliases as the server takes them), else risk. */
export function measureOption(value) {
  return ['count', 'workload', 'volume', '工作量'].includes(value) ? 'count' : 'excess';
}

/** The hexagons' fill colour: the level's colour for cluster cells; the others by `metric` —
 * `count` (a ramp up to `max` cases), `ratio` (observed ÷ expected, 1× to 4×), `population`
 * (residents, up to `max`) or `none` (one faint colour: a risk map colours only what is abnormal). */
export function hexColour(max = 100, metric = 'count') {
  const top = Math.max(2, max);
  const ramp = {
    count: ['interpolate', ['linear'], ['coalesce', ['get', 'count'], 0], 0, RAMP[0], top / 5, RAMP[1], top, RAMP[2]],
    ratio: ['interpolate', ['linear'], ['coalesce', ['get', 'ratio'], 0], 1, RAMP[0], 2, RAMP[1], 4, RAMP[2]],
    population: ['interpolate', ['linear'], ['coalesce', ['get', 'population'], 0], 0, RAMP[0], top / 5, RAMP[1], top, RAMP[2]],
    none: RAMP[0],
  }[metric] || RAMP[0];
  return ['match', ['coalesce', ['get', 'level'], ''],
    'red', COLOURS.red, 'orange', COLOURS.orange, 'yellow', COLOURS.yellow, 'blue', COLOURS.blue, ramp];
}

/** The opacity of cluster cells and of the others. */
export const HEX_OPACITY = ['case', ['has', 'level'], 0.9, 0.55];

/** The TileJSON URL of a tile set with the filters in `params`. */
export function tileJsonUrl(set, params = {}) {
  const q = query(params);
  return `${location.origin}/tiles/${set}.json${q ? `?${q}` : ''}`;
}

/** The map style: admin basemap, hexagons, boundaries and Chinese labels drawn with the local font. */
export function mapStyle(hexParams = {}) {
  return {
    version: 8,
    // Glyph ranges come from this server (empty: the labels are Chinese, drawn with the page's font).
    glyphs: `${location.origin}/fonts/{fontstack}/{range}.pbf`,
    sources: {
      admin: { type: 'vector', url: tileJsonUrl('admin') },
      hex: { type: 'vector', url: tileJsonUrl('hex', hexParams) },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#0b1220' } },
      { id: 'county-fill', type: 'fill', source: 'admin', 'source-layer': 'boundary',
        filter: ['==', ['get', 'level'], 'county'], paint: { 'fill-color': '#111a2e' } },
      { id: 'hex', type: 'fill', source: 'hex', 'source-layer': 'hex',
        paint: { 'fill-color': hexColour(), 'fill-opacity': HEX_OPACITY } },
      { id: 'hex-selected', type: 'line', source: 'hex', 'source-layer': 'hex',
        filter: ['==', ['get', 'h3'], ''], paint: { 'line-color': '#ffffff', 'line-width': 3 } },
      { id: 'boundary', type: 'line', source: 'admin', 'source-layer': 'boundary',
        paint: { 'line-color': ['match', ['get', 'level'], 'city', '#7dd3fc', 'county', '#38bdf8', '#24405f'],
                 'line-width': ['match', ['get', 'level'], 'city', 2, 'county', 1.4, 0.6] } },
      { id: 'label', type: 'symbol', source: 'admin', 'source-layer': 'label',
        layout: { 'text-field': ['get', 'name'], 'text-size': ['match', ['get', 'level'], 'county', 16, 12],
                  // MapLibre draws these with the page's font of that name (no glyph files).
                  'text-font': ['Fengqiao Sans'] },
        paint: { 'text-color': '#cbd5e1', 'text-halo-color': '#0b1220', 'text-halo-width': 1.5 } },
    ],
  };
}

/** The font MapLibre and the charts draw Chinese with (no glyph files needed): the pages' @font-face,
 * a local CJK font when the machine has one, else Noto Sans SC from this server. */
export const LOCAL_FONT = '"Fengqiao Sans", sans-serif';

/** Waits for the font, so the map's labels (drawn once into its glyph atlas) are never blank boxes. */
export async function fontReady() {
  await Promise.all([document.fonts.load('16px "Fengqiao Sans"', '市县乡镇村矛盾'),
    document.fonts.load('bold 16px "Fengqiao Sans"', '市县乡镇村矛盾')]);
}

/** Fits the map to the region's bounds from its TileJSON (no bounds written into the pages). */
export async function fitRegion(map, padding = 20) {
  const tilejson = await api('/tiles/admin.json');
  const [w, s, e, n] = tilejson.bounds;
  map.fitBounds([[w, s], [e, n]], { padding, duration: 0 });
  return tilejson.bounds;
}
