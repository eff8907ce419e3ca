#!/usr/bin/env bash
# A/B of two `taxistream` builds on one input: RUNS alternating runs of `run`, each into a fresh
# database, printing per run: build, wall s, user s, sys s, peak RSS KiB, trips, duplicates,
# rejected. Figures go to BENCHMARKS.md by hand.
#
# usage: scripts/bench_run_ab.sh OLD_BINARY NEW_BINARY INPUT [RUNS=5]
# (an old build: git worktree add /tmp/ab OLD && CARGO_TARGET_DIR=/tmp/ab-target cargo build
#  --release -p taxistream, in /tmp/ab)
set -euo pipefail
old=$1 new=$2 input=$3 runs=${4:-5}
for _ in $(seq "$runs"); do
  for which in old new; do
    bin=${!which}
    dir=$(mktemp -d)
    /usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$bin" run --json --no-progress \
      --db "$dir/t.db" --rejects "$dir/r.csv" "$input" >"$dir/out.json" 2>/dev/null
    counts=$(python3 -c "import json,sys; a=json.load(open(sys.argv[1]))['accounting']; print(a['trips'], a['duplicates'], a['rejected'])" "$dir/out.json")
    echo "$which $(cat "$dir/time") $counts"
    rm -rf "$dir"
  done
done
