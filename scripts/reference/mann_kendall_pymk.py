#!/usr/bin/env python3
"""Reference values for Fengqiao's Mann–Kendall test (analytics/src/trend.rs), computed with pymannkendall.

Writes a JSON file (default analytics/tests/data/mann_kendall_pymk.json) that the Rust test
`analytics/tests/mann_kendall_reference.rs` compares against:

- series: ~200 deterministic series (numpy RandomState, fixed seed) of lengths 2, 3, 4, 10, 26, 52
  and 104: small weekly case counts 0–3 (many ties) flat, rising and falling; sparse 0/1 weeks;
  Poisson counts; Gi*-like z-scores (AR(1) noise around a level, with and without a trend, some
  rounded to 2 decimals); constant series; strictly monotone series; and a few with missing values (NaN, written as null), which pymannkendall skips;
- for each, pymannkendall.original_test(x, alpha=0.05): s, var_s, z, Tau, p and trend
  ("increasing", "decreasing" or "no trend"), floats at full precision (repr).

Set up once:  python3 -m venv ~/.cache/fengqiao/pyref && ~/.cache/fengqiao/pyref/bin/pip install numpy scipy pymannkendall
Run:          ~/.cache/fengqiao/pyref/bin/python scripts/reference/mann_kendall_pymk.py [OUT]
"""
import json
import math
import sys

import numpy as np
import pymannkendall as mk
import scipy

LENGTHS = (3, 4, 10, 26, 52, 104)


def series(rng):
    """(kind, values) pairs, deterministic for the given RandomState."""
    out = []
    for n in LENGTHS:
        t = np.arange(n, dtype=float)
        for _ in range(5):
            out.append(("counts_0_3", rng.randint(0, 4, n).astype(float)))
        # Rising / falling weekly counts 0–3: a probability ramp, clipped.
        for sign in (1, -1):
            for _ in range(3):
                ramp = 1.5 + sign * 1.5 * (t / max(n - 1, 1) - 0.5) * 2
                out.append((f"counts_0_3_{'up' if sign > 0 else 'down'}",
                            np.clip(np.round(ramp + rng.normal(0, 0.8, n)), 0, 3)))
        for _ in range(3):
            out.append(("sparse_0_1", (rng.uniform(0, 1, n) < 0.15).astype(float)))
        out.append(("poisson_2", rng.poisson(2.0, n).astype(float)))
        out.append(("poisson_rising", rng.poisson(0.5 + 4.0 * t / n).astype(float)))
        for slope in (0.0, 0.0, 0.03, -0.03, 0.03, -0.03, 0.1, -0.1, 0.1, -0.1):
            noise = np.zeros(n)
            e = rng.normal(0, 1, n)
            for i in range(n):
                noise[i] = (0.5 * noise[i - 1] if i else 0.0) + e[i]
            level = rng.uniform(-2, 3)
            out.append((f"gi_z_slope_{slope}", level + slope * t + noise))
        for _ in range(2):
            out.append(("gi_z_rounded_2dp", np.round(rng.normal(1.0, 1.5, n), 2)))
        out.append(("constant", np.full(n, float(rng.randint(0, 5)))))
        out.append(("increasing", np.sort(rng.normal(0, 1, n))))
        out.append(("decreasing", np.sort(rng.normal(0, 1, n))[::-1].copy()))
    for n in (10, 26, 52):
        for _ in range(2):
            x = rng.normal(0, 1, n) + 0.05 * np.arange(n)
            x[rng.choice(n, size=max(1, n // 8), replace=False)] = np.nan
            out.append(("with_nan", x))
    out.append(("two_distinct", np.array([1.0, 2.0])))
    out.append(("two_down", np.array([0.5, -0.25])))
    out.append(("two_equal", np.array([3.0, 3.0])))
    out.append(("all_zero_52", np.zeros(52)))
    return out


def main(out):
    rng = np.random.RandomState(20260521)
    records = []
    for kind, x in series(rng):
        r = mk.original_test(x, alpha=0.05)
        records.append({
            "kind": kind,
            "x": [None if math.isnan(v) else float(v) for v in x],
            "s": float(r.s), "var_s": float(r.var_s), "z": float(r.z), "tau": float(r.Tau), "p": float(r.p),
            "trend": r.trend,
        })
    header = {
        "generator": "scripts/reference/mann_kendall_pymk.py",
        "test": "pymannkendall.original_test(x, alpha=0.05)",
        "versions": {"pymannkendall": mk.__version__, "numpy": np.__version__, "scipy": scipy.__version__},
    }
    with open(out, "w") as f:
        # One series per line: small and diffable; json writes floats with repr (full precision).
        f.write("{\n")
        for key, value in header.items():
            f.write(f"{json.dumps(key)}: {json.dumps(value)},\n")
        f.write('"series": [\n')
        f.write(",\n".join(json.dumps(rec, allow_nan=False) for rec in records))
        f.write("\n]\n}\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "analytics/tests/data/mann_kendall_pymk.json")
