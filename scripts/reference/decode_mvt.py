#!/usr/bin/env python3
"""An independent Mapbox Vector Tile decoder for Fengqiao's encoder (tiles/src/mvt.rs).

Reads a raw (not gzipped) .mvt file with the PyPI package `mapbox-vector-tile` and writes JSON that the
Rust test `tiles/tests/mvt_python.rs` compares with H3's cell boundaries:

    {"layers": [{"name": ..., "extent": 4096, "version": 2,
                 "features": [{"id": ..., "type": "Polygon" | "MultiPolygon" | "LineString" | ...,
                               "coordinates": [...], "properties": {...}}]}]}

Coordinates are raw tile coordinates (x right, y DOWN: `y_coord_down=True`, no transformer); polygon
rings come back closed (first point repeated), grouped into polygons by mapbox_vector_tile from their
winding. Properties keep their protobuf types (string, int, float, bool).

Set up once:  python3 -m venv ~/.cache/fengqiao/pyref && ~/.cache/fengqiao/pyref/bin/pip install mapbox-vector-tile
Run:          ~/.cache/fengqiao/pyref/bin/python scripts/reference/decode_mvt.py IN.mvt OUT.json
"""
import json
import sys

import mapbox_vector_tile


def main(path_in, path_out):
    with open(path_in, "rb") as f:
        data = f.read()
    tile = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True, "geojson": True})
    layers = []
    for name, layer in tile.items():
        features = [
            {
                "id": feature.get("id"),
                "type": feature["geometry"]["type"],
                "coordinates": feature["geometry"]["coordinates"],
                "properties": feature["properties"],
            }
            for feature in layer["features"]
        ]
        layers.append(
            {"name": name, "extent": layer["extent"], "version": layer["version"], "features": features}
        )
    with open(path_out, "w") as f:
        json.dump({"layers": layers}, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: decode_mvt.py IN.mvt OUT.json")
    main(sys.argv[1], sys.argv[2])
