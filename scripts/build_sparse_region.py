#!/usr/bin/env python3
"""Build a second, wholly SYNTHETIC test region: data/testing/sparse-north/ (北原市, "Beiyuan").

Usage:  python3 scripts/build_sparse_region.py [--out DIR]
Python 3.11, standard library only; deterministic (random.Random(SEED)).

Why: the analytics must not be tuned to Chenzhou. This region differs in every way that matters —
a long bent band (~560 km × 45 km) instead of a compact basin, 1.2 M people at ~45/km² instead of
240/km², a few dense county seats and hundreds of small villages several kilometres apart, and
grids whose size varies — so that tests can check hot spots, levels, 类案 and warnings on a shape
and density the code has never seen. Nothing in it is real: the code 159900 is unassigned in
GB/T 2260 and every name is invented.

Layout: the band follows a spine of four points; six counties are consecutive slices of it. Each
county has a seat with 3 街道 of 4–7 communities (3,000–9,000 people each) within 3 km, and 8–11
乡/镇 spread along its slice with 8–18 villages (150–1,400 people) within 2–9 km of the township
point. Populations are scaled so that each county sums to its total exactly; a grid has
max(1, round(pop/1200)) and splits its village's population. Points are rejection-sampled inside
their county.
"""
import argparse
import csv
import json
import math
import os
import random

SEED = 20261201
CITY = ("159900", "北原市", "Beiyuan (synthetic)")
SPINE = [(108.6, 41.2), (111.0, 42.3), (113.6, 42.6), (115.6, 43.9)]
HALF_WIDTH_KM = 22.0
COUNTIES = [  # code, name, population
    ("159902", "河套区", 310000), ("159921", "阴山县", 150000), ("159922", "白草县", 120000),
    ("159923", "黑河县", 210000), ("159924", "青原县", 140000), ("159981", "北口市", 270000),
]
SYLLABLES = "安宝北昌成大东丰广和红华吉建金乐连林隆明宁平庆荣瑞山胜泰天望文西祥新兴阳永玉源长正忠".strip()
ATTRIBUTION = "全部为合成数据 entirely synthetic test region (Fengqiao scripts/build_sparse_region.py); no real place"
KM_LAT = 110.574


def km_lng(lat):
    return 111.320 * math.cos(math.radians(lat))


def offset(p, n, d_km):
    """Point p moved d_km along unit normal n (given in km space)."""
    return (p[0] + n[0] * d_km / km_lng(p[1]), p[1] + n[1] * d_km / KM_LAT)


def spine_points(steps_per_segment=12):
    pts = []
    for (a, b) in zip(SPINE, SPINE[1:]):
        for i in range(steps_per_segment):
            t = i / steps_per_segment
            pts.append((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
    pts.append(SPINE[-1])
    return pts


def normals(pts):
    out = []
    for i, p in enumerate(pts):
        a = pts[max(i - 1, 0)]
        b = pts[min(i + 1, len(pts) - 1)]
        dx = (b[0] - a[0]) * km_lng(p[1])
        dy = (b[1] - a[1]) * KM_LAT
        n = math.hypot(dx, dy)
        out.append((-dy / n, dx / n))
    return out


def band_slices(count):
    """Consecutive quadrilateral-strip polygons of the band, one per county (outer ring CCW)."""
    pts = spine_points()
    ns = normals(pts)
    # Width varies along the band: narrower in the middle.
    widths = [HALF_WIDTH_KM * (0.75 + 0.35 * math.cos(2 * math.pi * i / (len(pts) - 1))) for i in range(len(pts))]
    left = [offset(p, n, w) for p, n, w in zip(pts, ns, widths)]
    right = [offset(p, n, -w) for p, n, w in zip(pts, ns, widths)]
    per = (len(pts) - 1) / count
    slices = []
    for c in range(count):
        i0, i1 = round(c * per), round((c + 1) * per)
        ring = right[i0:i1 + 1] + left[i0:i1 + 1][::-1]
        ring = [(round(x, 6), round(y, 6)) for x, y in ring]
        ring.append(ring[0])
        if signed_area(ring) < 0:
            ring.reverse()
        slices.append(ring)
    outer = [(round(x, 6), round(y, 6)) for x, y in right + left[::-1]]
    outer.append(outer[0])
    if signed_area(outer) < 0:
        outer.reverse()
    return slices, outer, pts


def signed_area(ring):
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / 2


def inside(ring, x, y):
    c = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            c = not c
    return c


def sample_near(rng, ring, centre, r_min_km, r_max_km, tries=400):
    for _ in range(tries):
        a = rng.uniform(0, 2 * math.pi)
        r = math.sqrt(rng.uniform(r_min_km ** 2, r_max_km ** 2))
        x = centre[0] + r * math.cos(a) / km_lng(centre[1])
        y = centre[1] + r * math.sin(a) / KM_LAT
        if inside(ring, x, y):
            return (x, y)
    return centre


def dist_km(a, b):
    return math.hypot((a[0] - b[0]) * km_lng((a[1] + b[1]) / 2), (a[1] - b[1]) * KM_LAT)


def name(rng, suffix, used):
    while True:
        n = rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + suffix
        if n not in used:
            used.add(n)
            return n


def scale_to(weights, total):
    s = sum(weights)
    exact = [w * total / s for w in weights]
    parts = [int(math.floor(e)) for e in exact]
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def build(out):
    rng = random.Random(SEED)
    slices, outer, spine = band_slices(len(COUNTIES))
    rows = {"counties": [], "townships": [], "villages": [], "grids": []}
    features = [{"type": "Feature", "properties": {"code": CITY[0], "name": CITY[1], "level": "city"},
                 "geometry": {"type": "MultiPolygon", "coordinates": [[[list(p) for p in outer]]]}}]
    used = set()
    for (code, cname, total), ring in zip(COUNTIES, slices):
        features.append({"type": "Feature",
                         "properties": {"code": code, "name": cname, "level": "county", "parent": CITY[0]},
                         "geometry": {"type": "MultiPolygon", "coordinates": [[[list(p) for p in ring]]]}})
        cx = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
        cy = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
        seat = (cx, cy) if inside(ring, cx, cy) else sample_near(rng, ring, (cx, cy), 0, 20)
        towns = []  # (code, name, point, kind)
        for s in range(3):
            towns.append((f"{code}{s + 1:03d}", name(rng, "街道", used),
                          seat if s == 0 else sample_near(rng, ring, seat, 1.5, 3.0), "street"))
        placed = [t[2] for t in towns]
        for t in range(rng.randint(8, 11)):
            best = None
            for _ in range(15):
                p = sample_near(rng, ring, seat, 8, 120)
                score = min(dist_km(p, q) for q in placed)
                if best is None or score > best[0]:
                    best = (score, p)
            placed.append(best[1])
            kind = rng.choice(["乡", "镇", "镇"])
            towns.append((f"{code}{100 + t + 1:03d}", name(rng, kind, used), best[1], "rural"))
        villages = []  # (code, name, parent, point, weight)
        for tcode, tname, tp, kind in towns:
            if kind == "street":
                for v in range(rng.randint(4, 7)):
                    p = tp if v == 0 else sample_near(rng, ring, tp, 0.4, 1.8)
                    villages.append([f"{tcode}{v + 1:03d}", name(rng, "社区", used), tcode, p, rng.uniform(3000, 9000)])
            else:
                pts = [tp]
                for v in range(rng.randint(8, 18)):
                    best = None
                    for _ in range(10):
                        p = sample_near(rng, ring, tp, 2.0, 9.0) if v else tp
                        score = min(dist_km(p, q) for q in pts) if v else 0
                        if best is None or score > best[0]:
                            best = (score, p)
                    pts.append(best[1])
                    villages.append([f"{tcode}{v + 1:03d}", name(rng, "村", used), tcode, best[1], rng.uniform(150, 1400)])
        pops = scale_to([v[4] for v in villages], total)
        town_pop = {}
        for v, pop in zip(villages, pops):
            town_pop[v[2]] = town_pop.get(v[2], 0) + pop
            n_grids = max(1, round(pop / 1200))
            shares = scale_to([rng.uniform(0.7, 1.3) for _ in range(n_grids)], pop)
            for g, gpop in enumerate(shares):
                gp = v[3] if n_grids == 1 else sample_near(rng, ring, v[3], 0.15, 0.7)
                rows["grids"].append((f"{v[0]}{g + 1:03d}", f"{v[1]}第{g + 1}网格", v[0], gp, gpop))
            rows["villages"].append((v[0], v[1], v[2], v[3], pop))
        for tcode, tname, tp, kind in towns:
            rows["townships"].append((tcode, tname, code, tp, town_pop.get(tcode, 0)))
        rows["counties"].append((code, cname, CITY[0], seat, total))

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "region.toml"), "w", encoding="utf-8") as f:
        f.write(f'name = "{CITY[1]}"\nname_en = "{CITY[2]}"\ncode = "{CITY[0]}"\ncrs = "wgs84"\n'
                f'attribution = "{ATTRIBUTION}"\n')
    with open(os.path.join(out, "boundary.geojson"), "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    for level, items in rows.items():
        with open(os.path.join(out, f"{level}.csv"), "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["code", "name", "parent", "lng", "lat", "population"])
            for code, n, parent, (x, y), pop in sorted(items):
                w.writerow([code, n, parent, f"{x:.6f}", f"{y:.6f}", pop])
    print(f"{out}: {len(rows['counties'])} counties, {len(rows['townships'])} townships, "
          f"{len(rows['villages'])} villages, {len(rows['grids'])} grids, "
          f"{sum(c[4] for c in rows['counties'])} people")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "data", "testing", "sparse-north"))
    build(ap.parse_args().out)
