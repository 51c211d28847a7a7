#!/usr/bin/env python3
"""Reference values for Fengqiao's risk helpers (analytics/src/risk.rs), computed with PySAL.

Writes a JSON file (default analytics/tests/data/eb_esda.json) that the Rust test
`analytics/tests/eb_reference.rs` compares against:

- cells: a patch of H3 res-8 cells (grid_disk of radius 10 around central Chenzhou), sorted;
- population: deterministic synthetic residents per cell (log-normal), observed: Poisson counts at a
  rate of 0.004 per resident plus a planted excess around one cell;
- esda.smoothing.Empirical_Bayes(observed, population).r  (Marshall's global EB rates),
- esda.smoothing.assuncao_rate(observed, population)       (Assunção–Reis EB index),
- esda.Moran_Rate(observed, population, W, transformation='r', permutations=0).I  (k = 1 rings),
- esda.G_Local(EB rates, W, transform='B', star=True, permutations=0).Zs           (Gi* on EB rates).

Set up once:  python3 -m venv ~/.cache/fengqiao/pyref && ~/.cache/fengqiao/pyref/bin/pip install esda libpysal h3 numpy scipy
Run:          ~/.cache/fengqiao/pyref/bin/python scripts/reference/eb_esda.py [OUT]
"""
import json
import sys

import esda
import h3
import libpysal
import numpy as np
from esda.smoothing import Empirical_Bayes, assuncao_rate


def main(out):
    centre = h3.latlng_to_cell(25.77, 113.015, 8)
    cells = sorted(h3.grid_disk(centre, 10))
    index = {c: i for i, c in enumerate(cells)}
    rng = np.random.RandomState(20261201)
    population = np.round(rng.lognormal(mean=6.0, sigma=1.0, size=len(cells))) + 1.0
    observed = rng.poisson(0.004 * population).astype(float)
    for c in h3.grid_disk(h3.latlng_to_cell(25.80, 113.04, 8), 1):
        if c in index:
            observed[index[c]] += rng.poisson(8.0)
    neighbours = {i: sorted(index[n] for n in h3.grid_disk(c, 1) if n in index and n != c)
                  for i, c in enumerate(cells)}
    w = libpysal.weights.W(neighbours, silence_warnings=True)
    eb = Empirical_Bayes(observed, population).r.flatten()
    ar = assuncao_rate(observed, population)
    moran = esda.Moran_Rate(observed, population, w, transformation="r", permutations=0)
    g = esda.G_Local(eb, w, transform="B", star=True, permutations=0)
    result = {
        "generator": "scripts/reference/eb_esda.py",
        "versions": {"esda": esda.__version__, "libpysal": libpysal.__version__, "h3": h3.__version__,
                     "numpy": np.__version__},
        "cells": cells,
        "population": population.tolist(),
        "observed": observed.tolist(),
        "eb_rates": [float(x) for x in eb],
        "assuncao_reis": [float(x) for x in ar],
        "moran_rate_i": float(moran.I),
        "gi_eb_z": [float(z) for z in g.Zs],
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "analytics/tests/data/eb_esda.json")
