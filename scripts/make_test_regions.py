#!/usr/bin/env python3
"""Synthetic onboarding data: the source files a centre would bring, for `fengqiao region import`
and `fengqiao ingest --mapping`, written deterministically (random.Random(15)) into data/examples/.

    python3 scripts/make_test_regions.py [--out data/examples]
    python3 scripts/make_test_regions.py --bench DIR [--villages 30000 --grids 100000]

Everything is invented: a province 示例省 (990000) of two cities, 青山市 (990100, three counties)
and 白水市 (990200, two counties), on a 0.01° lattice near 100°E 30°N. Units are made by nesting
Voronoi partitions of the lattice (so every polygon lies in its parent's, and polygons are irregular,
some in several parts, with a lake cut out as holes); names avoid every name of the default region.

Written (all small):
  qingshan/geojson/    city, counties, townships, villages, grids (.geojson, WGS84; grids carry no
                       parent; some rings open or clockwise, to be repaired) + units.csv
  qingshan/shp/        the same polygons as Shapefiles: counties.zip (GBK, .cpg), townships.zip (GBK,
                       no .cpg), villages.zip (GCJ-02 coordinates), grids.shp/.shx/.dbf/.prj (Gauss-Kruger
                       CGCS2000 CM 99E); the root outline is left to be dissolved
  qingshan/xlsx/       counties.geojson + units.xlsx (one sheet per level, Chinese headers, points only)
  baishui/geojson/     the second city, for the province
  recipes/             qingshan-geojson.toml, qingshan-shp.toml, qingshan-xlsx.toml, province.toml
  exports/             cases.xlsx (title row, foreign headers and words, names, address-only rows) and
                       cases-gb18030.csv (GB18030, other headers, BD-09 points, dates like 2026.10.03),
                       each with FILE.truth.csv (case id -> village code, or the reason it must be
                       rejected)

Python 3.11 standard library only; running it again gives byte-identical files.
"""

import argparse
import csv
import io
import json
import math
import os
import random
import struct
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP = 0.01  # lattice step, degrees
ZIP_DATE = (2026, 10, 31, 0, 0, 0)

# ---------------------------------------------------------------------------------------------
# Names


def chenzhou_names():
    names = set()
    for f in ["counties.csv", "townships.csv", "villages.csv", "grids.csv"]:
        with open(ROOT / "data" / "chenzhou" / f, encoding="utf-8") as h:
            for row in csv.DictReader(h):
                names.add(row["name"])
    names.update(["郴州市", "郴州", "Chenzhou"])
    return names


FIRST = "青白云松竹桃梅溪泉龙凤金银玉安平和兴隆福寿康宁丰乐永盛华瑞祥德明光辉翠岚枫栗樟柏杉榕荷莲芦苇茶"
SECOND = "山水岭峰坪塘湾坝冲垄洲岗坡源岩林园庄桥港滩畈埠"


class Namer:
    def __init__(self, rng, banned):
        self.rng = rng
        self.banned = banned
        self.used = set()

    def make(self, suffix, length=2):
        for _ in range(10000):
            stem = "".join(self.rng.choice(FIRST if i == 0 else SECOND if i == length - 1 else FIRST) for i in range(length))
            name = stem + suffix
            if name not in self.used and name not in self.banned and stem + "村" not in self.banned:
                self.used.add(name)
                return name
        raise SystemExit("out of names")


# ---------------------------------------------------------------------------------------------
# Geometry on the lattice


def voronoi(cells, k, rng):
    """Splits a list of lattice cells into k groups by nearest seed (seeds drawn from the cells)."""
    cells = sorted(cells)
    seeds = rng.sample(cells, k)
    groups = [[] for _ in range(k)]
    for c in cells:
        best = min(range(k), key=lambda i: ((c[0] - seeds[i][0]) ** 2 + (c[1] - seeds[i][1]) ** 2, i))
        groups[best].append(c)
    return [g for g in groups if g]


def outline(cells, x0, y0):
    """Rings (lists of (lng, lat), closed) around a set of lattice cells: outer rings counter-clockwise,
    holes clockwise, grouped into polygons [[outer, hole, ...], ...]."""
    cells = set(cells)
    edges = {}
    for (i, j) in cells:
        # Counter-clockwise around the cell; keep the edges not shared with a neighbour.
        for (a, b, n) in [((i, j), (i + 1, j), (i, j - 1)), ((i + 1, j), (i + 1, j + 1), (i + 1, j)),
                          ((i + 1, j + 1), (i, j + 1), (i, j + 1)), ((i, j + 1), (i, j), (i - 1, j))]:
            if n not in cells:
                edges.setdefault(a, []).append(b)
    rings = []
    while edges:
        start = min(edges)
        ring = [start]
        prev = None
        cur = start
        while True:
            outs = edges[cur]
            if len(outs) == 1:
                nxt = outs.pop()
            else:
                # At a pinch point take the left-most turn, which keeps rings simple.
                d_in = (cur[0] - prev[0], cur[1] - prev[1]) if prev else (1, 0)
                def turn(o):
                    d = (o[0] - cur[0], o[1] - cur[1])
                    cross = d_in[0] * d[1] - d_in[1] * d[0]
                    return -cross
                outs.sort(key=turn)
                nxt = outs.pop(0)
            if not edges[cur]:
                del edges[cur]
            prev, cur = cur, nxt
            if cur == start:
                break
            ring.append(cur)
        # Drop collinear vertices.
        simple = []
        n = len(ring)
        for k in range(n):
            a, b, c = ring[k - 1], ring[k], ring[(k + 1) % n]
            if (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]) != 0:
                simple.append(b)
        simple.append(simple[0])
        rings.append(simple)

    def area(r):
        return sum(r[k][0] * r[k + 1][1] - r[k + 1][0] * r[k][1] for k in range(len(r) - 1)) / 2

    def inside(pt, r):
        x, y = pt
        hit = False
        for k in range(len(r) - 1):
            (x1, y1), (x2, y2) = r[k], r[k + 1]
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
        return hit

    outers = [r for r in rings if area(r) > 0]
    holes = [r for r in rings if area(r) < 0]
    polygons = [[r] for r in sorted(outers)]
    for h in holes:
        probe = (h[0][0] + 0.5 * (h[1][0] - h[0][0]) + 0.01 * (h[1][1] - h[0][1]), h[0][1] + 0.5 * (h[1][1] - h[0][1]) - 0.01 * (h[1][0] - h[0][0]))
        for p in polygons:
            if inside(probe, p[0]):
                p.append(h)
                break
    to_deg = lambda r: [(round(x0 + a * STEP, 6), round(y0 + b * STEP, 6)) for (a, b) in r]
    return [[to_deg(r) for r in p] for p in polygons]


def centre_cell(cells):
    """The cell nearest the cells' mean: a point inside the unit."""
    mx = sum(c[0] for c in cells) / len(cells)
    my = sum(c[1] for c in cells) / len(cells)
    return min(sorted(cells), key=lambda c: (c[0] - mx) ** 2 + (c[1] - my) ** 2)


# ---------------------------------------------------------------------------------------------
# A city


class Unit:
    def __init__(self, level, code, name, parent, cells):
        self.level, self.code, self.name, self.parent, self.cells = level, code, name, parent, cells
        self.population = None
        self.aliases = []
        self.former = []
        self.point = None


def build_city(rng, namer, code, name, x0, y0, width, height, counties, townships, villages, lake):
    cells = [(i, j) for i in range(width) for j in range(height) if (i, j) not in lake]
    units = [Unit("city", code, name, None, cells)]
    for ci, ccells in enumerate(voronoi(cells, counties, rng), start=1):
        c_code = f"{code[:4]}{ci:02d}"
        county = Unit("county", c_code, namer.make("县" if ci > 1 else "区"), code, ccells)
        units.append(county)
        for ti, tcells in enumerate(voronoi(ccells, townships, rng), start=1):
            t_code = f"{c_code}{100 + ti:03d}" if ti > 1 else f"{c_code}001"
            suffix = "街道" if ti == 1 else ("乡" if ti == townships else "镇")
            township = Unit("township", t_code, namer.make(suffix), c_code, tcells)
            units.append(township)
            for vi, vcells in enumerate(voronoi(tcells, villages, rng), start=1):
                v_code = f"{t_code}{200 + vi:03d}" if suffix != "街道" else f"{t_code}{vi:03d}"
                vname = namer.make("社区" if suffix == "街道" else "村")
                village = Unit("village", v_code, vname, t_code, vcells)
                units.append(village)
                k = 1 if len(vcells) < 6 else rng.choice([2, 2, 3])
                for gi, gcells in enumerate(voronoi(vcells, min(k, len(vcells)), rng), start=1):
                    grid = Unit("grid", f"{v_code}{gi:03d}", f"{vname}第{gi}网格", v_code, gcells)
                    grid.population = rng.randint(900, 2600) if suffix != "街道" else rng.randint(2500, 6000)
                    units.append(grid)
    by_code = {u.code: u for u in units}
    # Populations sum up; points are the centre cells (villages and townships only).
    for level in ["village", "township", "county", "city"]:
        for u in units:
            if u.level == level:
                u.population = sum(c.population for c in units if c.parent == u.code)
    for u in units:
        if u.level in ("village", "township", "county"):
            i, j = centre_cell(u.cells)
            u.point = (round(x0 + (i + 0.5) * STEP, 6), round(y0 + (j + 0.5) * STEP, 6))
    return units, by_code


def same_name(units, rng):
    """Gives two villages of different townships one name (to be ambiguous without the township)."""
    villages = [u for u in units if u.level == "village" and u.name.endswith("村")]
    a = villages[3]
    b = next(v for v in villages[len(villages) // 2:] if v.parent != a.parent)
    b.name = a.name
    for g in units:
        if g.parent == b.code:
            g.name = b.name + g.name[g.name.index("第"):]
    return a, b


def rename_township(units):
    """A 撤乡设镇 rename: the last 乡 becomes a 镇 with a new code; the old name and code stay known."""
    township = next(u for u in units if u.level == "township" and u.name.endswith("乡"))
    old_name, old_code = township.name, township.code
    township.aliases = [old_name]
    township.name = old_name[:-1] + "镇"
    return township, old_name


# ---------------------------------------------------------------------------------------------
# Writers


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as h:
        h.write(data)


def geojson(units, x0, y0, parent=True, damage=None):
    """A FeatureCollection of the units' outlines. `damage(i, rings)` may alter a feature's rings."""
    features = []
    for i, u in enumerate(units):
        polygons = outline(u.cells, x0, y0)
        if damage:
            polygons = damage(i, polygons)
        props = {"code": u.code, "name": u.name}
        if parent and u.parent:
            props["parent"] = u.parent
        geom = {"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1 else {"type": "MultiPolygon", "coordinates": polygons}
        features.append({"type": "Feature", "properties": props, "geometry": geom})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":")) + "\n"


def damage_some(i, polygons):
    """Every 5th feature: the outer ring left open; every 7th: the outer ring clockwise."""
    polygons = [[list(r) for r in p] for p in polygons]
    if i % 5 == 2:
        polygons[0][0] = polygons[0][0][:-1]
    if i % 7 == 3:
        polygons[0][0] = polygons[0][0][::-1]
    return polygons


def units_csv(units, levels, headers=("code", "name", "parent", "population", "lng", "lat", "aliases")):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(headers)
    for u in units:
        if u.level in levels:
            lng, lat = u.point if u.point else ("", "")
            w.writerow([u.code, u.name, u.parent or "", u.population, lng, lat, "|".join(u.aliases)])
    return out.getvalue()


# -- XLSX (a minimal SpreadsheetML writer: inline strings, numbers, date cells) -------------------


def col_name(k):
    s = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def excel_serial(text):
    """'2026-10-03 14:20:00' -> Excel serial (1900 system)."""
    date, time = text.split(" ")
    y, m, d = map(int, date.split("-"))
    hh, mm, ss = map(int, time.split(":"))
    import datetime
    days = (datetime.date(y, m, d) - datetime.date(1899, 12, 30)).days
    return days + (hh * 3600 + mm * 60 + ss) / 86400


def xlsx(sheets):
    """sheets: [(name, rows)]; a cell is str, int/float, or ('date', 'YYYY-MM-DD HH:MM:SS')."""
    buf = io.BytesIO()
    z = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)

    def put(name, text):
        info = zipfile.ZipInfo(name, ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, text)

    put("[Content_Types].xml",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(len(sheets)))
        + "</Types>")
    put("_rels/.rels",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    put("xl/workbook.xml",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(f'<sheet name="{esc(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, (n, _) in enumerate(sheets))
        + "</sheets></workbook>")
    put("xl/_rels/workbook.xml.rels",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(sheets)))
        + f'<Relationship Id="rId{len(sheets) + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>')
    put("xl/styles.xml",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '</styleSheet>')
    for i, (_, rows) in enumerate(sheets):
        out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
        for r, row in enumerate(rows, start=1):
            out.append(f'<row r="{r}">')
            for k, v in enumerate(row):
                ref = f"{col_name(k)}{r}"
                if v is None or v == "":
                    continue
                if isinstance(v, tuple):
                    out.append(f'<c r="{ref}" s="1"><v>{excel_serial(v[1]):.10f}</v></c>')
                elif isinstance(v, (int, float)):
                    out.append(f'<c r="{ref}"><v>{v}</v></c>')
                else:
                    out.append(f'<c r="{ref}" t="inlineStr"><is><t>{esc(v)}</t></is></c>')
            out.append("</row>")
        out.append("</sheetData></worksheet>")
        put(f"xl/worksheets/sheet{i + 1}.xml", "".join(out))
    z.close()
    return buf.getvalue()


# -- Shapefile (polygon type 5, dBase III attributes) --------------------------------------------


def shapefile(units, x0, y0, fields, transform, encoding="gbk"):
    """(.shp, .shx, .dbf) bytes. fields: [(name, width, getter)], all character fields. Outer rings
    are written clockwise and holes counter-clockwise, as Shapefiles have them."""
    records = []
    for u in units:
        parts = []
        for p in outline(u.cells, x0, y0):
            for k, ring in enumerate(p):
                ring = [transform(x, y) for (x, y) in ring[::-1]]  # reverse: CCW -> CW for outer
                parts.append(ring)
        records.append(parts)
    allpts = [pt for parts in records for ring in parts for pt in ring]
    bbox = (min(p[0] for p in allpts), min(p[1] for p in allpts), max(p[0] for p in allpts), max(p[1] for p in allpts))
    shp_records = []
    for n, parts in enumerate(records, start=1):
        pts = [pt for ring in parts for pt in ring]
        rb = (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))
        content = struct.pack("<i4d2i", 5, *rb, len(parts), len(pts))
        index = 0
        for ring in parts:
            content += struct.pack("<i", index)
            index += len(ring)
        for (x, y) in pts:
            content += struct.pack("<2d", x, y)
        shp_records.append(struct.pack(">2i", n, len(content) // 2) + content)

    def header(length_bytes):
        return struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_bytes // 2) + struct.pack("<2i", 1000, 5) + struct.pack("<4d", *bbox) + struct.pack("<4d", 0, 0, 0, 0)

    body = b"".join(shp_records)
    shp = header(100 + len(body)) + body
    shx_body = b""
    offset = 100
    for rec in shp_records:
        shx_body += struct.pack(">2i", offset // 2, (len(rec) - 8) // 2)
        offset += len(rec)
    shx = header(100 + len(shx_body)) + shx_body
    # dBase III
    record_len = 1 + sum(w for (_, w, _) in fields)
    header_len = 32 + 32 * len(fields) + 1
    dbf = struct.pack("<B3BIHH20x", 0x03, 126, 10, 31, len(units), header_len, record_len)
    dbf = dbf[:29] + bytes([0x4D if encoding == "gbk" else 0x00]) + dbf[30:]
    for (name, width, _) in fields:
        dbf += name.encode("ascii").ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([width, 0]) + b"\0" * 14
    dbf += b"\r"
    for u in units:
        dbf += b" "
        for (_, width, get) in fields:
            value = str(get(u)).encode(encoding)
            assert len(value) <= width, (value, width)
            dbf += value.ljust(width, b" ")
    dbf += b"\x1a"
    return shp, shx, dbf


def zip_members(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


PRJ_CGCS2000 = 'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
PRJ_GK99 = ('PROJCS["CGCS2000_3_Degree_GK_CM_99E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",'
            'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
            'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
            'PARAMETER["Central_Meridian",99.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')


def gk99(lng, lat):
    """CGCS2000 3-degree Gauss-Kruger, central meridian 99E (Snyder's forward series)."""
    a, f = 6378137.0, 1 / 298.257222101
    e2 = f * (2 - f)
    ep2 = e2 / (1 - e2)
    phi, lam = math.radians(lat), math.radians(lng - 99.0)
    n = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    t = math.tan(phi) ** 2
    c = ep2 * math.cos(phi) ** 2
    A = lam * math.cos(phi)
    m = a * ((1 - e2 / 4 - 3 * e2 ** 2 / 64 - 5 * e2 ** 3 / 256) * phi - (3 * e2 / 8 + 3 * e2 ** 2 / 32 + 45 * e2 ** 3 / 1024) * math.sin(2 * phi)
             + (15 * e2 ** 2 / 256 + 45 * e2 ** 3 / 1024) * math.sin(4 * phi) - (35 * e2 ** 3 / 3072) * math.sin(6 * phi))
    x = n * (A + (1 - t + c) * A ** 3 / 6 + (5 - 18 * t + t * t + 72 * c - 58 * ep2) * A ** 5 / 120) + 500000
    y = m + n * math.tan(phi) * (A * A / 2 + (5 - t + 9 * c + 4 * c * c) * A ** 4 / 24 + (61 - 58 * t + t * t + 600 * c - 330 * ep2) * A ** 6 / 720)
    return (round(x, 3), round(y, 3))


A_GCJ = 6378245.0
EE_GCJ = 0.00669342162296594323


def wgs_to_gcj(lng, lat):
    x, y = lng - 105.0, lat - 35.0
    dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    dlat += (20 * math.sin(y * math.pi) + 40 * math.sin(y / 3 * math.pi)) * 2 / 3
    dlat += (160 * math.sin(y / 12 * math.pi) + 320 * math.sin(y * math.pi / 30)) * 2 / 3
    dlng = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlng += (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    dlng += (20 * math.sin(x * math.pi) + 40 * math.sin(x / 3 * math.pi)) * 2 / 3
    dlng += (150 * math.sin(x / 12 * math.pi) + 300 * math.sin(x / 30 * math.pi)) * 2 / 3
    radlat = lat / 180 * math.pi
    magic = 1 - EE_GCJ * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180) / ((A_GCJ * (1 - EE_GCJ)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180) / (A_GCJ / sqrtmagic * math.cos(radlat) * math.pi)
    return lng + dlng, lat + dlat


def gcj_to_bd(lng, lat):
    x_pi = math.pi * 3000 / 180
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * x_pi)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


# ---------------------------------------------------------------------------------------------
# Exports


CATEGORY_WORDS = ["婚姻家庭纠纷", "邻里纠纷", "土地宅基地纠纷", "合同纠纷", "劳资纠纷", "损害赔偿纠纷", "山林权属纠纷",
                  "征地拆迁纠纷", "环境污染纠纷", "物业纠纷", "消费纠纷", "医患纠纷", "交通事故纠纷", "其他纠纷", "涉众型纠纷"]
STATUS_WORDS = [("已受理", False), ("调解中", False), ("调解成功", True), ("调解不成功", True), ("已结案", True), ("撤诉", True)]
CHANNEL_WORDS = ["来访", "来电", "网格员排查", "部门移交", "110转办"]
SEVERITY_WORDS = ["简易", "一般", "较大", "重大疑难"]


def export_rows(rng, units, by_code, dup, renamed, n, prefix):
    """Rows of an export: (id, fields dict, truth) where truth is a village code or 'reject:<reason>'."""
    villages = [u for u in units if u.level == "village"]
    rows = []
    for k in range(n):
        v = rng.choice(villages)
        t = by_code[v.parent]
        c = by_code[t.parent]
        city = by_code[c.parent]
        day = rng.randint(1, 92)
        import datetime
        reported = datetime.datetime(2026, 8, 1, 8, 0) + datetime.timedelta(days=day - 1, minutes=rng.randint(0, 600))
        status, final = rng.choice(STATUS_WORDS)
        closed = reported + datetime.timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 8)) if final else None
        fields = {
            "id": f"{prefix}{k + 1:05d}",
            "reported": reported.strftime("%Y-%m-%d %H:%M:%S"),
            "closed": closed.strftime("%Y-%m-%d %H:%M:%S") if closed else "",
            "category": rng.choice(CATEGORY_WORDS),
            "status": status,
            "channel": rng.choice(CHANNEL_WORDS),
            "severity": rng.choice(SEVERITY_WORDS),
            "county": "", "township": "", "village": "", "address": "",
            "party": rng.choice("赵钱孙李周吴郑王冯陈") + rng.choice("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"),
            "phone": f"13{rng.randint(100000000, 999999999)}",
            "village_obj": v,
        }
        group = f"{rng.randint(1, 12)}组"
        kind = rng.random()
        truth = v.code
        t_name = renamed[1] if (t.code == renamed[0].code and rng.random() < 0.6) else t.name
        if v.code == dup[1].code and kind >= 0.55:
            kind = rng.random() * 0.55  # the duplicated name's second village: always with its township
        if kind < 0.45:
            fields.update(county=c.name, township=t_name, village=v.name)
        elif kind < 0.55:
            fields.update(township=t_name, village=v.name)
        elif kind < 0.75:
            fields["address"] = f"示例省{city.name}{c.name}{t_name}{v.name}{group}{rng.randint(1, 80)}号"
        elif kind < 0.85:
            fields["address"] = f"{t_name}{v.name}{group}"
        elif kind < 0.93:
            # Only the village: fine when its name is unique, ambiguous for the duplicated name.
            if v.name == dup[0].name:
                truth = "reject:ambiguous_place"
            fields["address"] = f"{v.name}{group}"
        elif kind < 0.97:
            fields.update(county=c.name, township=t_name, village="无名村")
            truth = "reject:unknown_place"
        else:
            fields.update(county=c.name, township=t_name, village=v.name)
            fields["reported"] = "2026-13-45 25:00:00"
            truth = "reject:invalid_date"
        if v.name == dup[0].name and kind < 0.55 and fields["township"] == "" and fields["address"] == "":
            truth = "reject:ambiguous_place"
        rows.append((fields, truth))
    return rows


def write_exports(rng, out, units, by_code, dup, renamed):
    # XLSX: title row, then the headers of one system; dates as date cells; no class column.
    rows = export_rows(rng, units, by_code, dup, renamed, 900, "QS2026")
    header = ["序号", "登记编号", "登记日期", "矛盾纠纷类别", "难易程度", "调处状态", "来源方式", "县(市、区)", "乡镇(街道)",
              "所属村(社区)", "详细地址", "当事人", "联系电话", "办结日期"]
    sheet = [["青山市矛盾纠纷调处中心 案件台账(导出)"], header]
    truth = io.StringIO()
    tw = csv.writer(truth, lineterminator="\n")
    tw.writerow(["case_id", "village_code"])
    for k, (f, t) in enumerate(rows, start=1):
        reported = ("date", f["reported"]) if not f["reported"].startswith("2026-13") else f["reported"]
        sheet.append([k, f["id"], reported, f["category"], f["severity"], f["status"], f["channel"], f["county"], f["township"],
                      f["village"], f["address"], f["party"], f["phone"], ("date", f["closed"]) if f["closed"] else ""])
        tw.writerow([f["id"], t])
    write(out / "exports" / "cases.xlsx", xlsx([("说明", [["本表为合成数据"]]), ("案件明细", sheet)]))
    write(out / "exports" / "cases.xlsx.truth.csv", truth.getvalue())

    # GB18030 CSV: other headers, dates 2026.10.03 14:20, BD-09 points on some rows, class given,
    # no severity column.
    rows = export_rows(rng, units, by_code, dup, renamed, 900, "BS2026")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["事件编号", "上报时间", "事项类型", "问题类型", "办理状态", "渠道", "区县", "街道乡镇", "村居", "发生地址", "经度", "纬度", "当事人姓名", "办结时间"])
    truth = io.StringIO()
    tw = csv.writer(truth, lineterminator="\n")
    tw.writerow(["case_id", "village_code"])
    for f, t in rows:
        def dotted(s):
            return s if not s or s.startswith("2026-13") else s[:16].replace("-", ".")
        lng = lat = ""
        v = f["village_obj"]
        if rng.random() < 0.3 and not t.startswith("reject"):
            # A point near the village's centre, as a Baidu map reports it.
            gx, gy = wgs_to_gcj(v.point[0] + rng.uniform(-0.002, 0.002), v.point[1] + rng.uniform(-0.002, 0.002))
            bx, by = gcj_to_bd(gx, gy)
            lng, lat = f"{bx:.6f}", f"{by:.6f}"
        w.writerow([f["id"], dotted(f["reported"]), "矛盾纠纷", f["category"], f["status"], f["channel"], f["county"], f["township"],
                    f["village"], f["address"], lng, lat, f["party"], dotted(f["closed"])])
        tw.writerow([f["id"], t])
    write(out / "exports" / "cases-gb18030.csv", buf.getvalue().encode("gb18030"))
    write(out / "exports" / "cases-gb18030.csv.truth.csv", truth.getvalue())


# ---------------------------------------------------------------------------------------------


RECIPE_HEAD = 'name = "{name}"\nname_en = "{en}"\ncode = "{code}"\nlevel = "{level}"\nattribution = "合成数据 synthetic test data (scripts/make_test_regions.py)"\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "data" / "examples"))
    ap.add_argument("--bench", help="write a province-sized recipe and sources into this directory instead")
    ap.add_argument("--villages", type=int, default=30000)
    ap.add_argument("--grids", type=int, default=100000)
    args = ap.parse_args()
    if args.bench:
        return bench(Path(args.bench), args.villages, args.grids)
    out = Path(args.out)
    rng = random.Random(15)
    namer = Namer(rng, chenzhou_names())
    X0, Y0 = 100.0, 30.0
    lake = {(i, j) for i in range(14, 18) for j in range(12, 15)}
    qs, qs_by = build_city(rng, namer, "990100", "青山市", X0, Y0, 36, 30, 3, 4, 5, lake)
    dup = same_name(qs, rng)
    renamed = rename_township(qs)
    BX = X0 + 36 * STEP
    bs, bs_by = build_city(rng, namer, "990200", "白水市", BX, Y0, 24, 30, 2, 3, 4, set())

    def level(units, l):
        return [u for u in units if u.level == l]

    q = out / "qingshan"
    # GeoJSON variant.
    write(q / "geojson" / "city.geojson", geojson(level(qs, "city"), X0, Y0))
    write(q / "geojson" / "counties.geojson", geojson(level(qs, "county"), X0, Y0))
    write(q / "geojson" / "townships.geojson", geojson(level(qs, "township"), X0, Y0))
    write(q / "geojson" / "villages.geojson", geojson(level(qs, "village"), X0, Y0, damage=damage_some))
    write(q / "geojson" / "grids.geojson", geojson(level(qs, "grid"), X0, Y0, parent=False))
    write(q / "geojson" / "units.csv", units_csv(qs, ("county", "township", "village", "grid")))
    # Shapefile variant.
    ident = lambda x, y: (x, y)
    fields = lambda code, name, parent: [(code, 15, lambda u: u.code), (name, 40, lambda u: u.name), (parent, 15, lambda u: u.parent or "")]
    pop = ("RKS", 8, lambda u: u.population)
    shp, shx, dbf = shapefile(level(qs, "county"), X0, Y0, fields("XZQDM", "XZQMC", "SJDM") + [pop], ident)
    write(q / "shp" / "counties.zip", zip_members([("counties.shp", shp), ("counties.shx", shx), ("counties.dbf", dbf), ("counties.prj", PRJ_CGCS2000), ("counties.cpg", "GBK")]))
    shp, shx, dbf = shapefile(level(qs, "township"), X0, Y0, fields("XZDM", "XZMC", "SJDM") + [pop], ident)
    write(q / "shp" / "townships.zip", zip_members([("townships.shp", shp), ("townships.shx", shx), ("townships.dbf", dbf), ("townships.prj", PRJ_CGCS2000)]))
    gcj = lambda x, y: tuple(round(c, 7) for c in wgs_to_gcj(x, y))
    shp, shx, dbf = shapefile(level(qs, "village"), X0, Y0, fields("CUNDM", "CUNMC", "XZDM") + [pop], gcj)
    write(q / "shp" / "villages.zip", zip_members([("villages.shp", shp), ("villages.shx", shx), ("villages.dbf", dbf)]))
    shp, shx, dbf = shapefile(level(qs, "grid"), X0, Y0, [("WGBM", 15, lambda u: u.code), ("WGMC", 40, lambda u: u.name), pop], gk99)
    for ext, data in [("shp", shp), ("shx", shx), ("dbf", dbf), ("prj", PRJ_GK99)]:
        write(q / "shp" / f"grids.{ext}", data)
    # XLSX variant: county outlines, points below.
    write(q / "xlsx" / "counties.geojson", geojson(level(qs, "county"), X0, Y0))
    headers = ["行政区划代码", "名称", "上级代码", "常住人口", "经度", "纬度", "曾用名"]

    def sheet_rows(l, with_point=True):
        rows = [headers]
        for u in level(qs, l):
            point = u.point
            if point is None and with_point:
                i, j = centre_cell(u.cells)
                point = (round(X0 + (i + 0.5) * STEP, 6), round(Y0 + (j + 0.5) * STEP, 6))
            rows.append([u.code, u.name, u.parent, u.population, point[0] if point else "", point[1] if point else "", "、".join(u.aliases)])
        return rows

    write(q / "xlsx" / "units.xlsx", xlsx([("乡镇街道", sheet_rows("township")), ("村社区", sheet_rows("village")), ("网格", sheet_rows("grid"))]))
    # The second city.
    b = out / "baishui"
    write(b / "geojson" / "counties.geojson", geojson(level(bs, "county"), BX, Y0))
    write(b / "geojson" / "townships.geojson", geojson(level(bs, "township"), BX, Y0))
    write(b / "geojson" / "villages.geojson", geojson(level(bs, "village"), BX, Y0))
    write(b / "geojson" / "grids.geojson", geojson(level(bs, "grid"), BX, Y0))
    write(b / "geojson" / "units.csv", units_csv(bs, ("county", "township", "village", "grid")))
    # Recipes.
    r = out / "recipes"
    head = RECIPE_HEAD.format(name="青山市", en="Qingshan", code="990100", level="city")
    geo = "../qingshan/geojson"
    write(r / "qingshan-geojson.toml", head + "".join(
        f'\n[[boundaries]]\nfile = "{geo}/{f}.geojson"\nlevel = "{l}"\n' for f, l in [("city", "city"), ("counties", "county"), ("townships", "township"), ("villages", "village"), ("grids", "grid")])
        + f'\n[[units]]\nfile = "{geo}/units.csv"\n')
    write(r / "qingshan-shp.toml", head
          + '\n[[boundaries]]\nfile = "../qingshan/shp/counties.zip"\nlevel = "county"\n'
          + '\n[[boundaries]]\nfile = "../qingshan/shp/townships.zip"\nlevel = "township"\n'
          + '\n[[boundaries]]\nfile = "../qingshan/shp/villages.zip"\nlevel = "village"\ncrs = "gcj02"\nencoding = "gbk"\n'
          + '\n[[boundaries]]\nfile = "../qingshan/shp/grids.shp"\nlevel = "grid"\n'
          + f'\n[[units]]\nfile = "{geo}/units.csv"\n')
    write(r / "qingshan-xlsx.toml", head
          + '\n[[boundaries]]\nfile = "../qingshan/xlsx/counties.geojson"\nlevel = "county"\n'
          + "".join(f'\n[[units]]\nfile = "../qingshan/xlsx/units.xlsx"\nsheet = "{s}"\nlevel = "{l}"\n' for s, l in [("乡镇街道", "township"), ("村社区", "village"), ("网格", "grid")]))
    cities = io.StringIO()
    cw = csv.writer(cities, lineterminator="\n")
    cw.writerow(["code", "name", "parent", "level"])
    cw.writerow(["990100", "青山市", "990000", "city"])
    cw.writerow(["990200", "白水市", "990000", "city"])
    write(r / "cities.csv", cities.getvalue())
    prov = RECIPE_HEAD.format(name="示例省", en="Shili", code="990000", level="province") + '\n[[units]]\nfile = "cities.csv"\n'
    for city in ["qingshan", "baishui"]:
        for f, l in [("counties", "county"), ("townships", "township"), ("villages", "village"), ("grids", "grid")]:
            prov += f'\n[[boundaries]]\nfile = "../{city}/geojson/{f}.geojson"\nlevel = "{l}"\n'
        prov += f'\n[[units]]\nfile = "../{city}/geojson/units.csv"\n'
    # Counties of the province hang below their city.
    write(r / "province.toml", prov)
    write_exports(rng, out, qs, qs_by, dup, renamed)
    print(f"wrote {out}: 青山市 {len(level(qs, 'village'))} villages / {len(level(qs, 'grid'))} grids, "
          f"白水市 {len(level(bs, 'village'))} / {len(level(bs, 'grid'))}")


def bench(out, villages, grids):
    """A province-sized region: `villages` villages (rectangles) and `grids` grid polygons (squares),
    as GeoJSON plus a unit table; and a 1 M-row address-only CSV export."""
    rng = random.Random(30000)
    most = -(-grids // villages)  # grids of the villages that get the most
    side = math.ceil(math.sqrt(villages))
    vw = 0.01  # village cell, degrees
    k = math.ceil(math.sqrt(most))
    gw = vw / k
    x0, y0 = 110.0, 26.0
    units = [("990000", "基准省", "", "province")]
    rows = []
    grid_features = []
    village_features = []
    n_cities, n_counties, n_townships = 12, 10, 12  # per parent
    v = 0
    names = set()
    for ci in range(n_cities):
        city = f"99{ci + 1:02d}00"
        rows.append((city, f"基准{ci + 1}市", "990000", "", "", ""))
        for ki in range(n_counties):
            county = f"99{ci + 1:02d}{ki + 1:02d}"
            rows.append((county, f"基准{ci + 1}市{ki + 1}县", city, "", "", ""))
            for ti in range(n_townships):
                township = f"{county}{ti + 1:03d}"
                rows.append((township, f"{county}第{ti + 1}镇", county, "", "", ""))
                t_index = (ci * n_counties + ki) * n_townships + ti
                townships_all = n_cities * n_counties * n_townships
                per_township = villages // townships_all + (1 if t_index < villages % townships_all else 0)
                for vi in range(per_township):
                    i, j = v % side, v // side
                    code = f"{township}{vi + 1:03d}"
                    x, y = x0 + i * vw, y0 + j * vw
                    name = f"{township[-5:]}{vi + 1}村"
                    rows.append((code, name, township, f"{x + vw / 2:.6f}", f"{y + vw / 2:.6f}", ""))
                    village_features.append((code, name, township, [[x, y], [x + vw, y], [x + vw, y + vw], [x, y + vw], [x, y]]))
                    per_village = grids // villages + (1 if v < grids % villages else 0)
                    for g in range(per_village):
                        gx, gy = x + (g % k) * gw, y + (g // k) * gw
                        gcode = f"{code}{g + 1:03d}"
                        pop = rng.randint(800, 2500)
                        rows.append((gcode, f"{name}第{g + 1}网格", code, "", "", pop))
                        grid_features.append((gcode, [[gx, gy], [gx + gw, gy], [gx + gw, gy + gw], [gx, gy + gw], [gx, gy]]))
                    v += 1
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "units.csv", "w", encoding="utf-8", newline="") as h:
        w = csv.writer(h, lineterminator="\n")
        w.writerow(["code", "name", "parent", "lng", "lat", "population"])
        w.writerows(rows)
    with open(out / "grids.geojson", "w", encoding="utf-8") as h:
        h.write('{"type":"FeatureCollection","features":[\n')
        h.write(",\n".join(json.dumps({"type": "Feature", "properties": {"code": c}, "geometry": {"type": "Polygon", "coordinates": [[[round(a, 6), round(b, 6)] for a, b in r]]}}) for c, r in grid_features))
        h.write("\n]}\n")
    with open(out / "recipe.toml", "w", encoding="utf-8") as h:
        h.write(RECIPE_HEAD.format(name="基准省", en="Bench", code="990000", level="province"))
        h.write('\n[[units]]\nfile = "units.csv"\n\n[[boundaries]]\nfile = "grids.geojson"\nlevel = "grid"\n')
    # 1 M address-only rows.
    vrows = [r for r in rows if r[1].endswith("村")]
    by_code = {r[0]: r for r in rows}
    with open(out / "addresses.csv", "w", encoding="utf-8", newline="") as h:
        w = csv.writer(h, lineterminator="\n")
        w.writerow(["编号", "登记时间", "事项类别", "纠纷类型", "难易程度", "来源渠道", "办理状态", "详细地址"])
        for k in range(1_000_000):
            vr = vrows[rng.randrange(len(vrows))]
            t = by_code[vr[2]]
            c = by_code[t[2]]
            city = by_code[c[2]]
            address = f"基准省{city[1]}{c[1]}{t[1]}{vr[1]}{rng.randint(1, 12)}组{rng.randint(1, 99)}号"
            w.writerow([f"B{k:07d}", f"2026-10-{1 + k % 28:02d} 09:00:00", "dispute", "neighbour", "simple", "walk_in", "received", address])
    print(f"wrote {out}: {v} villages, {len(grid_features)} grid polygons, 1,000,000 address rows")


if __name__ == "__main__":
    sys.exit(main())
