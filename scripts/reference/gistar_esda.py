#!/usr/bin/env python3
"""Reference values for Fengqiao's Gi* (analytics/src/gistar.rs), computed with PySAL and Uber's h3.

Writes a JSON file (default analytics/tests/data/gistar_esda.json) that the Rust test
`analytics/tests/gistar_reference.rs` compares against:

- cells: a patch of H3 res-8 cells (grid_disk of radius 12 around central Chenzhou), sorted;
- values: deterministic synthetic counts (Poisson background plus a planted cluster);
- for k in (1, 2): the neighbours of each cell within the patch from h3.grid_disk (self excluded),
  and esda.G_Local(values, W, transform='B', star=True, permutations=0): Zs and p_norm.

Set up once:  python3 -m venv ~/.cache/fengqiao/pyref && ~/.cache/fengqiao/pyref/bin/pip install esda libpysal h3 numpy scipy
Run:          ~/.cache/fengqiao/pyref/bin/python scripts/reference/gistar_esda.py [OUT]
"""
import json
import sys

import esda
import h3
import libpysal
import numpy as np


def main(out):
    centre = h3.latlng_to_cell(25.77, 113.015, 8)
    cells = sorted(h3.grid_disk(centre, 12))
    index = {c: i for i, c in enumerate(cells)}
    rng = np.random.RandomState(20261123)
    values = rng.poisson(2.0, len(cells)).astype(float)
    hot = h3.grid_disk(h3.latlng_to_cell(25.80, 113.05, 8), 2)
    for c in hot:
        if c in index:
            values[index[c]] += rng.poisson(9.0)
    result = {
        "generator": "scripts/reference/gistar_esda.py",
        "versions": {"esda": esda.__version__, "libpysal": libpysal.__version__, "h3": h3.__version__,
                     "numpy": np.__version__},
        "cells": cells,
        "values": values.tolist(),
        "k": {},
    }
    for k in (1, 2):
        neighbours = {i: sorted(index[n] for n in h3.grid_disk(c, k) if n in index and n != c)
                      for i, c in enumerate(cells)}
        w = libpysal.weights.W(neighbours, silence_warnings=True)
        g = esda.G_Local(values, w, transform="B", star=True, permutations=0)
        result["k"][str(k)] = {
            "neighbours": [neighbours[i] for i in range(len(cells))],
            "z": [float(z) for z in g.Zs],
            "p_norm_one_sided": [float(p) for p in g.p_norm],
        }
    with open(out, "w") as f:
        json.dump(result, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "analytics/tests/data/gistar_esda.json")
