#!/usr/bin/env python3
"""Runs two builds of the reader + analytics bench alternately and prints their timings side by side.

usage: scripts/bench_core_ab.py OLD_BENCH_BIN NEW_BENCH_BIN [RUNS] [SAMPLES]

A bench binary is what `cargo bench -p taxistream-core --no-run` builds
(target/release/deps/read_and_analyse-<hash>): copy it aside before building the other commit.
Both run from crates/taxistream-core (the bench reads testdata/ relative to it), RUNS times each
(default 3), alternately, `--bench --sample-count SAMPLES` (default 60). Prints, per input and
stage, each run's fastest and median in ms, and the new build's best rows per second per core
(divan's throughput of the fastest sample).
"""
import pathlib
import re
import subprocess
import sys

THROUGHPUT = re.compile(r"([\d.]+) (|K|M|G)item/s")
STAGE = re.compile(r"(read|analyse|record)\s+([\d.]+) (ns|µs|ms|s)\s+│\s+[\d.]+ \S+\s+│\s+([\d.]+) (ns|µs|ms|s)")
INPUT = re.compile(r"[├╰]─ (csv|parquet)\s")
TO_MS = {"ns": 1e-6, "µs": 1e-3, "ms": 1.0, "s": 1e3}
PER_ITEM = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}


def run(binary, samples):
    """{(input, stage): (fastest_ms, median_ms, rows_per_s_of_fastest)} of one run."""
    out = subprocess.run(
        [binary, "--bench", "--sample-count", str(samples)],
        cwd=pathlib.Path(__file__).resolve().parent.parent / "crates" / "taxistream-core",
        check=True, capture_output=True, text=True,
    ).stdout
    results, current, stage = {}, None, None
    for line in out.splitlines():
        if match := INPUT.search(line):
            current = match.group(1)
        elif (match := STAGE.search(line)) and current:
            fastest = float(match.group(2)) * TO_MS[match.group(3)]
            median = float(match.group(4)) * TO_MS[match.group(5)]
            stage = (current, match.group(1))
            results[stage] = (fastest, median, None)
        elif (match := THROUGHPUT.search(line)) and stage in results:
            # The line under a stage's timings: its throughputs, the fastest first (the bench
            # counts the rows of its input file).
            fastest, median, _ = results[stage]
            results[stage] = (fastest, median, float(match.group(1)) * PER_ITEM[match.group(2)])
            stage = None
    if not results:
        sys.exit(f"{binary}: no bench results in its output:\n{out}")
    return results


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    old, new = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    samples = int(sys.argv[4]) if len(sys.argv) > 4 else 60
    timings = {old: [], new: []}
    for _ in range(runs):
        for binary in (old, new):
            timings[binary].append(run(binary, samples))
    print("| input | stage | old fastest (median), ms | new fastest (median), ms | rows/s new, fastest |")
    print("|---|---|---|---|---:|")
    for key in timings[new][0]:
        cells = []
        for binary in (old, new):
            cells.append(", ".join(f"{r[key][0]:.4g} ({r[key][1]:.4g})" for r in timings[binary] if key in r))
        rates = [r[key][2] for r in timings[new] if key in r and r[key][2]]
        best = f"{max(rates):,.0f}" if rates else "?"
        print(f"| {key[0]} | {key[1]} | {cells[0]} | {cells[1]} | {best} |")


if __name__ == "__main__":
    main()
