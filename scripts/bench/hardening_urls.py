#!/usr/bin/env python3
"""URL lists of the load benchmark (issue 16), for the data's last day LAST:

  hardening_urls.py OUT_DIR LAST VERSION

writes OUT_DIR/tiles.txt (the wall's hexagon and basemap tiles of the last week at zooms 8, 10 and 12
around the city centre, with the data version, as TileJSON makes them), OUT_DIR/api.txt (the wall's
API calls: version, KPIs of the week and the last day, hot spots, trends, alerts, the ramp's heat map,
TileJSON, the region's units) and OUT_DIR/abuse.txt (an analyst asking for what costs most: heat maps
under ever new filters, trend patterns on tiles, res 10, daily 260-step trends with k = 5, the last
case pages, long recurring histories, chains).
"""
import datetime
import itertools
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from tile_urls import CENTRE, tile  # noqa: E402

CATEGORIES = ["marriage_family", "neighbour", "housing_land", "contract", "business", "damages", "forest_land",
              "land_acquisition", "environment", "labour", "tourism", "consumer", "medical", "traffic",
              "property_mgmt", "ip", "urban_planning", "other"]


def around(z, n):
    cx, cy = tile(z, *CENTRE)
    r = int(n ** 0.5 / 2) + 1
    cells = sorted(((x, y) for x in range(cx - r, cx + r + 1) for y in range(cy - r, cy + r + 1)),
                   key=lambda t: (t[0] - cx) ** 2 + (t[1] - cy) ** 2)
    return cells[:n]


def main(out, last, version):
    last_day = datetime.date.fromisoformat(last)
    week = f"from={last_day - datetime.timedelta(days=6)}&to={last}"
    tiles = []
    for z, n in [(8, 16), (10, 64), (12, 120)]:
        for x, y in around(z, n):
            tiles.append(f"/tiles/hex/{z}/{x}/{y}.mvt?v={version}&{week}")
            tiles.append(f"/tiles/admin/{z}/{x}/{y}.mvt?v={version}")
    api = [
        "/api/version",
        f"/api/kpis?{week}",
        f"/api/kpis?from={last}&to={last}",
        f"/api/hotspots?{week}",
        f"/api/trends?res=7&steps=12&to={last}",
        f"/api/alerts?as_of={last}&limit=12",
        f"/api/heatmap?res=7&{week}",
        f"/tiles/hex.json?{week}",
        "/tiles/admin.json",
        "/api/units/431000",
    ]
    rng = random.Random(16)
    abuse = []
    combos = [",".join(c) for c in itertools.combinations(CATEGORIES, 2)]
    rng.shuffle(combos)
    cz, (cx, cy) = 12, tile(12, *CENTRE)
    for i, combo in enumerate(combos[:150]):
        start = last_day - datetime.timedelta(days=rng.randrange(20, 300))
        abuse.append(f"/api/heatmap?res=8&category={combo}&from={start}&to={last}")
        if i % 3 == 0:
            abuse.append(f"/tiles/hex/{cz}/{cx + i % 5}/{cy + i % 7}.mvt?trends=true&res=8&category={combo}")
        abuse.append("/api/trends?res=9&step=day&steps=260&k=5")
        abuse.append("/api/heatmap?res=10")
        abuse.append(f"/api/cases?per_page=1000&page={rng.randrange(1, 900)}")
        abuse.append("/api/recurring?history=260&window=104&min_active=1")
        abuse.append(f"/api/chains?link_days={rng.randrange(30, 3650)}")
    rng.shuffle(abuse)
    for name, urls in [("tiles", tiles), ("api", api), ("abuse", abuse)]:
        with open(os.path.join(out, f"{name}.txt"), "w") as f:
            f.write("\n".join(urls) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
