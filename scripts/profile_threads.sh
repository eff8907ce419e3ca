#!/usr/bin/env bash
# Where the CPU of one `taxistream run` goes, by thread: the SQLite writer thread while it loads
# the tables and while it builds their key indexes, SQLite's sorter helper threads, and every
# other thread (reading, ids, analyses, the stream). The writer thread's own CPU is a floor for
# the run's wall time: one connection does it all, one step after another. Samples with `perf`
# at 999 Hz, so each sample is about 1 ms of CPU.
#
# usage (from the repo root): scripts/profile_threads.sh INPUT [RUNS]   (needs perf; release build)
set -euo pipefail
cd "$(dirname "$0")/.."
input=${1:?usage: profile_threads.sh INPUT [RUNS]} runs=${2:-3}
bin=${CARGO_TARGET_DIR:-target}/release/taxistream
[[ -x $bin ]] || { echo "missing $bin: cargo build --release -p taxistream" >&2; exit 1; }
command -v perf > /dev/null || { echo "needs perf: apt-get install linux-perf" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ((i = 1; i <= runs; i++)); do
  perf record -q -F 999 -o "$work/perf.data" "$bin" run --no-progress --db "$work/run.db" "$input" \
    > /dev/null 2> "$work/run.err" || { cat "$work/run.err" >&2; exit 1; }
  rm -f "$work"/run.db*
  # The writer's first thread is the writer; the other threads named after it are the sorter's
  # helpers, which start with the index build.
  perf script -i "$work/perf.data" -F comm,tid,time 2> /dev/null | awk '
    { t = $3; sub(":", "", t); if (start == "") start = t; end = t }
    $1 == "sqlite-writer" && writer == "" { writer = $2 }
    $1 == "sqlite-writer" && $2 != writer && indexing == "" { indexing = t }
    { if ($1 != "sqlite-writer") other++; else if ($2 != writer) helpers++; else if (indexing == "") load++; else building++ }
    END { printf "run: %.2f s sampled | writer thread: %d ms loading + %d ms building indexes | sorter helpers: %d ms | other threads: %d ms\n", end - start, load, building, helpers, other }'
done
