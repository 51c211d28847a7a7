#!/usr/bin/env python3
"""The wall display's own request pattern, for the soak benchmark (issue 16), from WALLS simulated
walls on one display token, for MINUTES minutes:

  walls.py BASE TOKEN MINUTES WALLS

Each wall does what web/static/wall.js does: on start, the version, TileJSON, the visible hexagon and
basemap tiles and the panels' calls (KPIs of the period and the last day, hot spots, trends,
alerts, the ramp's heat map); then every 60 s the version and the panels again. Walls alternate the
kiosk modes: a plain wall, a 12-week playback (a frame every 5 s, its tiles and ramp), a county wall
(unit=431002), and a tour (zoom 10 tiles around a red or orange cluster every 15 s). Prints one line
per minute: requests and non-2xx answers so far.
"""
import datetime
import json
import math
import sys
import threading
import time
import urllib.error
import urllib.request

CENTRE = (113.015, 25.77)
lock = threading.Lock()
stats = {"requests": 0, "bad": 0}


def tile(z, lng, lat):
    n = 2 ** z
    return int((lng + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def get(base, token, path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            body = r.read()
            ok = 200 <= r.status < 300
    except urllib.error.HTTPError as e:
        body, ok = b"", False
        e.read()
    except OSError:
        body, ok = b"", False
    with lock:
        stats["requests"] += 1
        stats["bad"] += 0 if ok else 1
    return body


def tiles(base, token, z, lng, lat, query, n=3):
    cx, cy = tile(z, lng, lat)
    for dx in range(-n, n + 1):
        for dy in range(-n, n + 1):
            get(base, token, f"/tiles/hex/{z}/{cx + dx}/{cy + dy}.mvt?{query}")
            get(base, token, f"/tiles/admin/{z}/{cx + dx}/{cy + dy}.mvt")


def wall(base, token, mode, until):
    version = json.loads(get(base, token, "/api/version") or b"{}")
    last = datetime.date.fromisoformat(version["last_day"])
    v = version["version"]
    unit = "&unit=431002" if mode == "county" else ""
    frame, next_panels, next_step = 0, 0.0, 0.0
    clusters = []
    while time.time() < until:
        now = time.time()
        if mode == "playback" and now >= next_step:
            to = last - datetime.timedelta(days=7 * (11 - frame % 12))
            period = f"from={to - datetime.timedelta(days=6)}&to={to}"
            get(base, token, f"/tiles/hex.json?{period}")
            tiles(base, token, 8, *CENTRE, f"v={v}&{period}", n=2)
            get(base, token, f"/api/heatmap?res=7&{period}")
            frame += 1
            next_step = now + 5
        if mode == "tour" and clusters and now >= next_step:
            c = clusters[frame % len(clusters)]
            tiles(base, token, 10, c["lng"], c["lat"], f"v={v}&from={last - datetime.timedelta(days=6)}&to={last}", n=2)
            frame += 1
            next_step = now + 15
        if now >= next_panels:
            version = json.loads(get(base, token, "/api/version") or b"{}")
            v = version.get("version", v)
            period = f"from={last - datetime.timedelta(days=6)}&to={last}{unit}"
            if mode != "playback":
                get(base, token, f"/tiles/hex.json?{period}")
                tiles(base, token, 9, *CENTRE, f"v={v}&{period}")
            get(base, token, f"/api/kpis?{period}")
            get(base, token, f"/api/kpis?from={last}&to={last}{unit}")
            hot = get(base, token, f"/api/hotspots?{period}")
            clusters = [c for c in json.loads(hot or b"[]") if c.get("level") in ("red", "orange")]
            get(base, token, f"/api/trends?res=7&steps=12&to={last}{unit}")
            get(base, token, f"/api/alerts?as_of={last}&limit=12{unit}")
            get(base, token, f"/api/heatmap?res=7&{period}")
            next_panels = now + 60
        time.sleep(0.5)


def main(base, token, minutes, walls):
    until = time.time() + 60 * float(minutes)
    modes = ["plain", "playback", "county", "tour"]
    threads = [threading.Thread(target=wall, args=(base, token, modes[i % 4], until), daemon=True)
               for i in range(int(walls))]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(60)
        with lock:
            print(f"{time.strftime('%H:%M:%S')}\trequests {stats['requests']}\tnon-2xx {stats['bad']}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
