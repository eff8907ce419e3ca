#!/usr/bin/env bash
# End-to-end benchmark: `taxistream run` against the two baselines in ../shared/bench
# (DuckDB SQL, and the seed tutorial's Python), on the same input, in one sitting.
# Prints a Markdown section for BENCHMARKS.md on stdout (progress goes to stderr) and
# saves it as $BENCH_DIR/results.md.
#
# usage (from the repo root): scripts/bench_e2e.sh
# env: COPIES=4 (~960k rows)  COPIES_LARGE=20 (~4.8M rows, memory check)  RUNS=3  RUNS_PY=1
#      RUNS_LARGE=$RUNS  SKIP_BUILD=1 (use the existing release binary)  BENCH_DIR=target/bench
#      BENCH_VENV=target/bench-venv  BENCH_SHARED=../shared/bench
#      CARGO_TARGET_DIR (where the release binary is built and looked for; default target)
set -euo pipefail
cd "$(dirname "$0")/.."

DUCKDB_VERSION=2.0.1 # pinned: latest on PyPI when this script was written
COPIES=${COPIES:-4} COPIES_LARGE=${COPIES_LARGE:-20}
RUNS=${RUNS:-3} RUNS_PY=${RUNS_PY:-1} RUNS_LARGE=${RUNS_LARGE:-$RUNS}
WORK=${BENCH_DIR:-target/bench} VENV=${BENCH_VENV:-target/bench-venv}
SHARED=${BENCH_SHARED:-../shared/bench}
BIN=${CARGO_TARGET_DIR:-target}/release/taxistream
# Wall time and peak RSS come from GNU time (%e seconds, %M max RSS in KiB), for every tool alike.
TIME=/usr/bin/time
[[ -x $TIME ]] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
log() { echo "== $*" >&2; }
mkdir -p "$WORK"

# 1. Python venv with a pinned duckdb. Its interpreter also runs the seed baseline (no pyenv shim in the timing).
if ! "$VENV/bin/python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
  log "creating $VENV with duckdb==$DUCKDB_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "duckdb==$DUCKDB_VERSION" >&2
fi
PY=$VENV/bin/python

# 2. Inputs: real trips repeated COPIES times (so 3 of every 4 rows are duplicate trips by default).
"$SHARED/make_input.sh" "$WORK/input.csv" "$COPIES" >&2
"$SHARED/make_input.sh" "$WORK/input-large.csv" "$COPIES_LARGE" >&2

# 3. The release binary.
[[ ${SKIP_BUILD:-0} == 1 ]] || cargo build --release -p taxistream >&2
[[ -x $BIN ]] || { echo "missing $BIN (build it, or drop SKIP_BUILD=1)" >&2; exit 1; }

# measure NAME RUNS CLEAN_PATHS CMD...: runs CMD RUNS times, deleting CLEAN_PATHS (space-separated) first
# each time so every run starts cold (the input itself stays in the page cache for every tool alike).
# Sets SECS (median wall s), RSS_MB (max peak RSS over the runs, MiB) and leaves CMD's stdout in $WORK/NAME.out.
measure() {
  local name=$1 runs=$2 clean=$3 times=() rss=0 i e m
  shift 3
  for ((i = 1; i <= runs; i++)); do
    # shellcheck disable=SC2086 # clean is a word list of our own paths
    rm -f $clean
    "$TIME" -f '%e %M' -o "$WORK/time.txt" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" ||
      { echo "$name failed:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
    read -r e m < <(tail -n 1 "$WORK/time.txt")
    times+=("$e") rss=$((m > rss ? m : rss))
    log "$name run $i/$runs: ${e}s, $((m / 1024)) MiB"
  done
  SECS=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}')
  RSS_MB=$((rss / 1024))
}

# counts FILE: "rows high_value duration ratio" from a tool's stdout (taxistream --json or the baselines' k=v line).
counts() {
  "$PY" - "$1" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
try:
    j = json.loads(text); a = j["accounting"]; i = a["items"]
    print(a["rows_read"], i["high_value_trips"], i["trip_duration_analysis"], i["distance_to_fare_ratio"])
except ValueError:
    kv = dict(re.findall(r"(\w+)=(\S+)", text))
    print(kv["rows"], kv["high_value"], kv["duration"], kv["ratio"])
EOF
}

# 4. Timings. The whole input is read once first so no tool pays for a cold page cache, and the
# inputs just written are flushed to disk so the first tool timed does not share the disk with
# their writeback (546 MB at COPIES=4 and COPIES_LARGE=20).
cat "$WORK/input.csv" "$WORK/input-large.csv" > /dev/null
sync
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg) # other work on the machine skews every number: shown in the report
declare -A S R C
run_ts() { # run_ts NAME INPUT RUNS
  measure "$1" "$3" "$WORK/ts.db $WORK/ts.db-wal $WORK/ts.db-shm $WORK/rejects.csv" \
    "$BIN" run --no-progress --json --db "$WORK/ts.db" --rejects "$WORK/rejects.csv" "$2"
  S[$1]=$SECS R[$1]=$RSS_MB C[$1]=$(counts "$WORK/$1.out")
}
log "taxistream, $RUNS runs"; run_ts taxistream "$WORK/input.csv" "$RUNS"
log "DuckDB $DUCKDB_VERSION, $RUNS runs"
measure duckdb "$RUNS" "$WORK/duck.duckdb $WORK/duck.duckdb.wal" "$PY" "$SHARED/duckdb_baseline.py" "$WORK/input.csv" "$WORK/duck.duckdb" 2
S[duckdb]=$SECS R[duckdb]=$RSS_MB C[duckdb]=$(counts "$WORK/duckdb.out")
log "seed Python, $RUNS_PY run(s) (slow)"
measure python "$RUNS_PY" "$WORK/seed.sqlite $WORK/seed.sqlite-journal" "$PY" "$SHARED/seed_baseline.py" "$WORK/input.csv" "$WORK/seed.sqlite"
S[python]=$SECS R[python]=$RSS_MB C[python]=$(counts "$WORK/python.out")
log "taxistream on the large input, $RUNS_LARGE runs"; run_ts taxistream_large "$WORK/input-large.csv" "$RUNS_LARGE"

# 5. The report.
row() { # row NAME LABEL RUNS
  local rows hv du ra
  read -r rows hv du ra <<< "${C[$1]}"
  printf '| %s | %d | %s | %.2f | %.0f | %d | %s / %s / %s |\n' "$2" "$rows" "$3" "${S[$1]}" \
    "$(awk -v n="$rows" -v s="${S[$1]}" 'BEGIN {print n / s}')" "${R[$1]}" "$hv" "$du" "$ra"
}
ratio() { awk -v a="${S[$1]}" -v b="${S[taxistream]}" 'BEGIN {printf "%.1f", a / b}'; }
{
  echo "### End-to-end: \`taxistream run\` vs baselines ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), Linux $(uname -r)," \
    "$(free -m | awk '/^Mem:/ {printf "%.0f", $2 / 1024}') GiB RAM. $("$BIN" --version) (binary built $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC')), git $(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo '-dirty')," \
    "DuckDB $DUCKDB_VERSION (2 threads), $("$PY" --version)."
  echo
  echo "Load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "Command: \`COPIES=$COPIES COPIES_LARGE=$COPIES_LARGE RUNS=$RUNS RUNS_PY=$RUNS_PY RUNS_LARGE=$RUNS_LARGE SKIP_BUILD=${SKIP_BUILD:-0} BENCH_DIR=$WORK BENCH_VENV=$VENV scripts/bench_e2e.sh\`"
  echo
  echo "| tool | rows | runs | median s | rows/s | peak RSS MiB | items: high_value / duration / ratio |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  row taxistream "taxistream run" "$RUNS"
  row duckdb "DuckDB SQL (duckdb_baseline.py)" "$RUNS"
  row python "seed Python (seed_baseline.py)" "$RUNS_PY"
  row taxistream_large "taxistream run, large input" "$RUNS_LARGE"
  echo
  echo "Speed ratio (baseline s / taxistream s, >1 = taxistream faster): vs DuckDB **$(ratio duckdb)x**, vs seed Python **$(ratio python)x**."
  echo
  echo "Wall time and peak RSS by GNU \`/usr/bin/time -f '%e %M'\` (whole process incl. start-up; median over runs, max RSS)." \
    "Input: the real trips of ../shared/data repeated COPIES times, so taxistream keeps one item per distinct trip" \
    "(duplicates dropped) while the baselines count every row; compare speed, not counts."
} | tee "$WORK/results.md"
