#!/usr/bin/env python3
"""Reads heat-map cells as CSV (from `GET /api/heatmap?res=R&format=csv`) on stdin and writes the
rows a tile would draw (cases or a significant Gi*) as tab-separated COPY input with each cell's
hexagon as EWKT in Web Mercator (EPSG:3857), for the PostGIS peer of scripts/bench-tiles.sh.
Needs Uber's h3 (the venv of scripts/reference/gistar_esda.py)."""
import csv
import math
import sys

import h3

R = 6378137.0


def merc(lat, lng):
    x = math.radians(lng) * R
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * R
    return x, y


def main():
    out = sys.stdout
    for row in csv.DictReader(sys.stdin):
        count = row["count"] or "0"
        if count == "0" and row["confidence"] == "0":
            continue
        ring = [merc(lat, lng) for lat, lng in h3.cell_to_boundary(row["h3"])]
        ring.append(ring[0])
        wkt = "SRID=3857;POLYGON((" + ",".join(f"{x:.2f} {y:.2f}" for x, y in ring) + "))"
        fields = [row["h3"], count, row["score"] or "0", row["gi_z"], row["confidence"],
                  row["level"] or "\\N", row["top_category"] or "\\N", wkt]
        out.write("\t".join(fields) + "\n")


if __name__ == "__main__":
    main()
