#!/usr/bin/env python3
"""Tile URLs over Chenzhou for the tile benchmark: every tile of zoom Z covering the box
[112.22, 24.89, 114.23, 26.84] (the region's bounds), or at most N of them nearest the city centre.

  tile_urls.py BASE Z N [QUERY] > urls.txt
"""
import math
import sys

WEST, SOUTH, EAST, NORTH = 112.22, 24.89, 114.23, 26.84
CENTRE = (113.015, 25.77)


def tile(z, lng, lat):
    n = 2 ** z
    x = int((lng + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def main(base, z, limit, query=""):
    z, limit = int(z), int(limit)
    x0, y0 = tile(z, WEST, NORTH)
    x1, y1 = tile(z, EAST, SOUTH)
    cx, cy = tile(z, *CENTRE)
    tiles = sorted(
        ((x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)),
        key=lambda t: (t[0] - cx) ** 2 + (t[1] - cy) ** 2,
    )[:limit]
    suffix = f"?{query}" if query else ""
    for x, y in tiles:
        print(f"{base}/{z}/{x}/{y}.mvt{suffix}")


if __name__ == "__main__":
    main(*sys.argv[1:])
