#!/usr/bin/env python3
"""The heat-map path an analyst uses today (issue 3 benchmark), timed step by step.

On the cases exported from the store to Parquet (lng, lat in WGS84, reported_at, category):

  pandas.read_parquet -> h3.latlng_to_cell(lat, lng, 8) per row (list comprehension) -> groupby count
  -> libpysal W from h3.grid_disk(c, 1) over the Rust study-area cells
  -> esda.G_Local(y, w, transform='B', star=True, permutations=0)

then esda.G_Local alone on the 50,000-cell res-9 input the Rust bench exported (same counts, same
neighbour lists).

Equal numbers: Rust counts a case in the res-8 parent of its stored res-10 cell, which for points
near a cell edge is not latlng_to_cell(lat, lng, 8) (H3's hierarchy is not exact containment). The
script reports how the analyst's direct binning differs, then bins the same rows Rust's way
(latlng_to_cell at 10, cell_to_parent 8): those per-cell counts must equal Rust's and the z-scores
agree within 1e-6, else it exits 1; likewise the z-scores on the 50,000-cell input.

Usage (run by scripts/bench-heatmap.sh, venv ~/.cache/fengqiao/pyref with esda libpysal h3 numpy
scipy pandas pyarrow):
  python_heatmap_path.py CASES.parquet RUST-RES8-YEAR.json RUST-KERNEL50K.json [RUNS [POPULATION.csv]]
RUST-KERNEL50K.json "-" skips the kernel part (the command-line bar, scripts/bench-cli-heatmap.sh).
With POPULATION.csv (h3,population per res-8 cell, as `fengqiao heatmap --measure rate` writes it)
also the analyst's risk path: PySAL empirical-Bayes rates and G_Local on them.
Output: `name<TAB>median_ms<TAB>min_ms<TAB>runs` lines, `peak_rss_mib<TAB>…` and `info<TAB>…` lines.
"""
import json
import resource
import sys
import time
import warnings

import esda
import h3
import libpysal
import numpy as np
import pandas as pd

TOLERANCE = 1e-6


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def report(name, times_s):
    ms = sorted(t * 1e3 for t in times_s)
    print(f"{name}\t{float(np.median(ms)):.4f}\t{ms[0]:.4f}\t{len(ms)}", flush=True)


def neighbour_w(cells):
    """libpysal W over `cells` with the neighbours within one grid step (self excluded: star=True
    adds it)."""
    index = {c: i for i, c in enumerate(cells)}
    neighbours = {i: [index[n] for n in h3.grid_disk(c, 1) if n != c and n in index] for i, c in enumerate(cells)}
    return libpysal.weights.W(neighbours, silence_warnings=True)


def risk_path(population_csv, cells, y, w, binning_s):
    """The analyst's risk map on the same counts: residents per cell (the CSV Fengqiao's
    `heatmap --measure rate` writes: h3, population), Marshall's empirical-Bayes rates
    (esda.smoothing.Empirical_Bayes) and G_Local on them. Cells without residents get one resident
    (EB needs a base > 0). Timed after the binning the count path did (`binning_s`)."""
    steps = {}
    t = time.perf_counter()
    pop = pd.read_csv(population_csv, usecols=["h3", "population"], dtype={"h3": str})
    b = pop.set_index("h3")["population"].reindex(cells).fillna(0).to_numpy(dtype=float)
    steps["population_read"] = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rates = esda.smoothing.Empirical_Bayes(y.reshape(-1, 1), np.maximum(b, 1.0).reshape(-1, 1)).r.ravel()
    steps["empirical_bayes"] = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        esda.G_Local(rates, w, transform="B", star=True, permutations=0)
    steps["eb_g_local"] = time.perf_counter() - t
    for name, s in steps.items():
        report(f"python_res8_year_risk_{name}", [s])
    report("python_res8_year_risk_total", [binning_s + sum(steps.values())])


def main(parquet, rust_year_path, rust_kernel_path, runs, population_csv=None):
    with open(rust_year_path) as f:
        rust = json.load(f)
    steps = {}

    # End to end, once, as an analyst runs it.
    t = time.perf_counter()
    df = pd.read_parquet(parquet)
    steps["read_parquet"] = time.perf_counter() - t

    t = time.perf_counter()
    df["cell"] = [h3.latlng_to_cell(lat, lng, 8) for lat, lng in zip(df["lat"].to_numpy(), df["lng"].to_numpy())]
    steps["latlng_to_cell"] = time.perf_counter() - t

    t = time.perf_counter()
    counts = df.groupby("cell").size()
    steps["groupby_count"] = time.perf_counter() - t

    cells = rust["cells"]
    t = time.perf_counter()
    w = neighbour_w(cells)
    steps["weights_grid_disk"] = time.perf_counter() - t

    t = time.perf_counter()
    y = counts.reindex(cells, fill_value=0).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    steps["g_local"] = time.perf_counter() - t

    total = sum(steps.values())
    for name, s in steps.items():
        report(f"python_res8_year_{name}", [s])
    report("python_res8_year_total", [total])
    print(f"peak_rss_mib_end_to_end\t{peak_rss_mib():.0f}", flush=True)
    if population_csv:
        risk_path(population_csv, cells, y, w, total - steps["g_local"])

    # Equal numbers. Rust counts a case in the res-8 parent of its stored res-10 cell (issue 3:
    # "parents of the stored fine cell"); H3's hierarchy is not exact containment, so for points near
    # a cell edge that parent differs from latlng_to_cell(lat, lng, 8). The analyst's direct binning
    # above is therefore compared and reported; the check that must pass bins the same rows Rust's way
    # (res-10 cell, then its res-8 parent) and runs G_Local with the same W.
    rows = len(df)
    rust_index = pd.Index(cells)
    rust_counts = np.asarray(rust["counts"], dtype=np.int64)
    rust_z = np.asarray(rust["z"])

    def compare(name, by_cell, zs):
        outside = by_cell.index.difference(rust_index)
        differ = int(np.count_nonzero(by_cell.reindex(cells, fill_value=0).to_numpy() != rust_counts))
        z_diff = float(np.max(np.abs(np.asarray(zs) - rust_z)))
        print(
            f"info\tcounts_{name}\t{rows} rows, {len(by_cell)} non-empty cells ({len(outside)} not in Rust's "
            f"{len(cells)}), {differ} cells with counts different from Rust's",
            flush=True,
        )
        print(f"max_abs_z_diff_res8_year_{name}\t{z_diff:.3e}", flush=True)
        return len(outside) == 0 and differ == 0 and rows == rust["cases"], z_diff

    compare("direct", counts, g.Zs)
    t = time.perf_counter()
    parent = [h3.cell_to_parent(h3.latlng_to_cell(lat, lng, 10), 8) for lat, lng in zip(df["lat"].to_numpy(), df["lng"].to_numpy())]
    report("python_res8_year_parent_of_res10_cell", [time.perf_counter() - t])
    moved = int(np.count_nonzero(np.asarray(parent, dtype=object) != df["cell"].to_numpy()))
    print(f"info\tdirect_vs_parent\t{moved} of {rows} rows ({100.0 * moved / rows:.2f}%) in a different res-8 cell", flush=True)
    df["parent"] = parent
    del parent
    counts_parent = df.groupby("parent").size()
    y_parent = counts_parent.reindex(cells, fill_value=0).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g_parent = esda.G_Local(y_parent, w, transform="B", star=True, permutations=0)
    equal, z_diff = compare("parent", counts_parent, g_parent.Zs)
    failed = []
    if not equal:
        failed.append("per-cell counts (res-8 parent of the res-10 cell) differ from Rust's")
    if not z_diff < TOLERANCE:
        failed.append(f"z differs from Rust's by {z_diff:.3e} on the res-8 year")
    del df

    if rust_kernel_path == "-":
        # The command-line bar (scripts/bench-cli-heatmap.sh): the end-to-end path and its check only.
        print(f"peak_rss_mib\t{peak_rss_mib():.0f}", flush=True)
        for message in failed:
            print(f"python_heatmap_path: {message}", file=sys.stderr)
        return 1 if failed else 0

    # The kernel alone: esda G_Local on the Rust bench's 50,000-cell res-9 input.
    with open(rust_kernel_path) as f:
        kern = json.load(f)
    t = time.perf_counter()
    w50 = libpysal.weights.W(dict(enumerate(kern["neighbours"])), silence_warnings=True)
    report("python_kernel50k_w_build", [time.perf_counter() - t])
    y50 = np.asarray(kern["counts"], dtype=float)
    times = []
    for i in range(runs + 1):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g50 = esda.G_Local(y50, w50, transform="B", star=True, permutations=0)
        if i > 0:  # the first is the warm-up
            times.append(time.perf_counter() - t)
    report("python_kernel50k_g_local", times)
    z50 = float(np.max(np.abs(np.asarray(g50.Zs) - np.asarray(kern["z"]))))
    print(f"max_abs_z_diff_kernel50k\t{z50:.3e}", flush=True)
    if not z50 < TOLERANCE:
        failed.append(f"z differs from Rust's by {z50:.3e} on the 50,000 cells")
    print(f"peak_rss_mib\t{peak_rss_mib():.0f}", flush=True)
    print(
        f"info\tversions\tesda {esda.__version__}, libpysal {libpysal.__version__}, h3 {h3.__version__}, "
        f"pandas {pd.__version__}, numpy {np.__version__}",
        flush=True,
    )
    for message in failed:
        print(f"python_heatmap_path: {message}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5, 6):
        sys.exit(__doc__)
    runs = int(sys.argv[4]) if len(sys.argv) >= 5 else 5
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], runs, sys.argv[5] if len(sys.argv) == 6 else None))
