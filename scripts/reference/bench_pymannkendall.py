#!/usr/bin/env python3
"""The Python peer of analytics/benches/trend.rs: pymannkendall.original_test on the same 50,000 × 52 series.

Regenerates the benchmark's series bit for bit from the shared formula (per location a 64-bit LCG
stream, a level, a slope, triangular noise, every fifth location quantised to 0.25; see the Rust
bench's `series`), then times `pymannkendall.original_test(x, alpha=0.05)` over the locations, one
call per location, as an analyst would. It times the first 5,000 calls; when that projects to more
than 2 minutes for all 50,000 it stops there and extrapolates (and says so), otherwise it times all
50,000. With the Rust results (`rust-mk50k.json` written by the bench) it also checks that both sides
computed the same numbers: S equal, |Z| differences, trend decisions equal.

Set up once:  ~/.cache/fengqiao/pyref/bin/pip install numpy scipy pymannkendall
Run:          ~/.cache/fengqiao/pyref/bin/python scripts/reference/bench_pymannkendall.py [rust-mk50k.json]

Output (TSV on stdout): python_pymk_50k_s, python_pymk_timed_series, python_pymk_extrapolated (0/1),
python_pymk_per_series_ms, checks against Rust, peak_rss_mib. Exits non-zero when the results differ.
"""
import json
import resource
import sys
import time

import numpy as np
import pymannkendall as mk

LOCATIONS = 50_000
STEPS = 52
MASK = (1 << 64) - 1
BUDGET_S = 120.0
FIRST = 5_000


def series():
    """Location-major z-scores, shape (LOCATIONS, STEPS): the Rust bench's formula, vectorised over
    locations (numpy uint64 arithmetic wraps modulo 2^64, as Rust's wrapping_mul/wrapping_add)."""
    i = np.arange(LOCATIONS, dtype=np.uint64)
    state = (i + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    a, c = np.uint64(6364136223846793005), np.uint64(1442695040888963407)

    def uniform():
        nonlocal state
        state = state * a + c
        return (state >> np.uint64(11)).astype(np.float64) * (1.0 / float(1 << 53))

    level = 6.0 * uniform() - 3.0
    slope = np.array([0.06, -0.06, 0.02, -0.02, 0.0, 0.0, 0.0, 0.0])[np.arange(LOCATIONS) % 8]
    quantised = np.arange(LOCATIONS) % 5 == 4
    z = np.empty((LOCATIONS, STEPS))
    for t in range(STEPS):
        u1 = uniform()
        u2 = uniform()
        noise = (u1 + u2 - 1.0) * 1.5
        v = level + slope * (float(t) - 25.5) + noise
        z[:, t] = np.where(quantised, np.floor(v * 4.0) / 4.0, v)
    return z


def main(rust_path):
    with np.errstate(over="ignore"):
        z = series()
    results = []
    start = time.perf_counter()
    for k in range(LOCATIONS):
        results.append(mk.original_test(z[k], alpha=0.05))
        if k + 1 == FIRST and (time.perf_counter() - start) * LOCATIONS / FIRST > BUDGET_S:
            break
    elapsed = time.perf_counter() - start
    timed = len(results)
    total = elapsed * LOCATIONS / timed
    print(f"python_pymk_50k_s\t{total:.3f}")
    print(f"python_pymk_timed_series\t{timed}")
    print(f"python_pymk_timed_s\t{elapsed:.3f}")
    print(f"python_pymk_extrapolated\t{int(timed < LOCATIONS)}")
    print(f"python_pymk_per_series_ms\t{1000 * elapsed / timed:.4f}")
    ok = True
    if rust_path:
        with open(rust_path) as f:
            rust = json.load(f)
        s_diff = sum(int(r.s) != rs for r, rs in zip(results, rust["s"]))
        z_diff = max(abs(float(r.z) - rz) for r, rz in zip(results, rust["z"]))
        trend_diff = sum(r.trend.replace(" ", "_") != rt for r, rt in zip(results, rust["trend"]))
        print(f"checked_series\t{timed}")
        print(f"s_mismatches\t{s_diff}")
        print(f"max_abs_z_diff\t{z_diff:.3g}")
        print(f"trend_mismatches\t{trend_diff}")
        ok = s_diff == 0 and trend_diff == 0 and z_diff < 1e-9
    print(f"peak_rss_mib\t{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    if not ok:
        sys.exit("bench_pymannkendall: Rust and pymannkendall disagree")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
