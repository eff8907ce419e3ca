#!/usr/bin/env bash
# End-to-end benchmark on real-shaped input: `taxistream run` against DuckDB SQL and the seed
# tutorial's Python (../shared/bench), on the same distinct trips as CSV and as Parquet, runs
# alternated tool by tool in one sitting. Prints a Markdown section for BENCHMARKS.md on stdout
# (progress on stderr) and saves it as $BENCH_DIR/results.md.
#
# usage (from the repo root): scripts/bench_e2e.sh
# env: COPIES=4 (960k distinct rows)  COPIES_LARGE=20 (4.8M, memory)  COPIES_XL=0 (set 40: 9.6M,
#      memory stays flat)  RUNS=5  RUNS_PY=1  RUNS_LARGE=1  SKIP_BUILD=1 (use the existing binary)
#      BENCH_DIR=target/bench  BENCH_VENV=target/bench-venv  BENCH_SHARED=../shared/bench
#      CARGO_TARGET_DIR (where the release binary is built and looked for; default target)
set -euo pipefail
cd "$(dirname "$0")/.."

DUCKDB_VERSION=2.0.1 # pinned: latest on PyPI when this script was written
PYARROW_VERSION=26.0.1 # pinned: writes Parquet as the TLC's files are written
COPIES=${COPIES:-4} COPIES_LARGE=${COPIES_LARGE:-20} COPIES_XL=${COPIES_XL:-0}
RUNS=${RUNS:-5} RUNS_PY=${RUNS_PY:-1} RUNS_LARGE=${RUNS_LARGE:-1}
WORK=${BENCH_DIR:-target/bench} VENV=${BENCH_VENV:-target/bench-venv}
SHARED=${BENCH_SHARED:-../shared/bench}
BIN=${CARGO_TARGET_DIR:-target}/release/taxistream
# Wall time and peak RSS come from GNU time (%e seconds, %M max RSS in KiB), for every tool alike.
TIME=/usr/bin/time
[[ -x $TIME ]] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
log() { echo "== $*" >&2; }
mkdir -p "$WORK"

# 1. Python venv with a pinned duckdb and pyarrow. Its interpreter also runs the seed baseline.
if ! "$VENV/bin/python" -c "import duckdb, pyarrow, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION' or pyarrow.__version__ != '$PYARROW_VERSION')" 2>/dev/null; then
  log "creating $VENV with duckdb==$DUCKDB_VERSION pyarrow==$PYARROW_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "duckdb==$DUCKDB_VERSION" "pyarrow==$PYARROW_VERSION" >&2
fi
PY=$VENV/bin/python

# 2. Inputs: distinct real trips (no two rows equal) as CSV and Parquet; the large input also as
# Parquet in a single row group, as some official files are; a replayed file (every trip 4 times).
make_distinct() { # make_distinct NAME COPIES
  [[ -s $WORK/$1.parquet && $(cat "$WORK/$1.copies" 2>/dev/null) == "$2" ]] && return
  "$PY" "$SHARED/make_distinct_input.py" "$WORK/$1.csv" "$2" --parquet >&2
  echo "$2" > "$WORK/$1.copies"
}
one_row_group() { # one_row_group NAME: NAME-1rg.parquet, the same rows in one row group
  [[ -s $WORK/$1-1rg.parquet ]] && return
  # Written by pyarrow, as the TLC's files are (1 MiB pages). DuckDB writes far larger pages in a
  # row group this big, and a reader holds a page of each column decoded (see BENCHMARKS.md).
  "$PY" - "$WORK/$1.parquet" "$WORK/$1-1rg.parquet" <<'PYEOF' >&2
import pyarrow.parquet as pq, sys
table = pq.read_table(sys.argv[1])
pq.write_table(table, sys.argv[2], row_group_size=len(table), compression="zstd")
print(f"{sys.argv[2]}: {pq.ParquetFile(sys.argv[2]).metadata.num_row_groups} row group(s)")
PYEOF
}
make_distinct distinct "$COPIES"
make_distinct distinct-large "$COPIES_LARGE"
one_row_group distinct-large
[[ $COPIES_XL -gt 0 ]] && { make_distinct distinct-xl "$COPIES_XL"; one_row_group distinct-xl; }
[[ -s $WORK/replayed.csv ]] || "$SHARED/make_input.sh" "$WORK/replayed.csv" 4 >&2

# 3. The release binary.
[[ ${SKIP_BUILD:-0} == 1 ]] || cargo build --release -p taxistream >&2
[[ -x $BIN ]] || { echo "missing $BIN (build it, or drop SKIP_BUILD=1)" >&2; exit 1; }

# once NAME CLEAN_PATHS CMD...: runs CMD once after deleting CLEAN_PATHS; appends its wall time to
# T[NAME] and keeps the largest peak RSS in R[NAME]; CMD's stdout stays in $WORK/NAME.out.
declare -A T R C
once() {
  local name=$1 clean=$2 e m
  shift 2
  # shellcheck disable=SC2086 # clean is a word list of our own paths
  rm -f $clean
  "$TIME" -f '%e %M' -o "$WORK/time.txt" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" ||
    { echo "$name failed:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
  read -r e m < <(tail -n 1 "$WORK/time.txt")
  T[$name]="${T[$name]:-} $e" R[$name]=$(((m / 1024) > ${R[$name]:-0} ? m / 1024 : ${R[$name]:-0}))
  log "$name: ${e}s, $((m / 1024)) MiB"
}
median() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
ts() { # ts NAME INPUT
  once "$1" "$WORK/ts.db $WORK/ts.db-wal $WORK/ts.db-shm $WORK/rejects.csv" \
    "$BIN" run --no-progress --json --db "$WORK/ts.db" --rejects "$WORK/rejects.csv" "$2"
}
duck() { # duck NAME INPUT
  once "$1" "$WORK/duck.duckdb $WORK/duck.duckdb.wal" "$PY" "$SHARED/duckdb_baseline.py" "$2" "$WORK/duck.duckdb" 2
}
# counts NAME: "rows high_value duration ratio" from a tool's stdout (taxistream --json or k=v).
counts() {
  "$PY" - "$WORK/$1.out" <<'PYEOF'
import json, re, sys
text = open(sys.argv[1]).read()
try:
    a = json.loads(text)["accounting"]; i = a["items"]
    print(a["rows_read"], i["high_value_trips"], i["trip_duration_analysis"], i["distance_to_fare_ratio"])
except ValueError:
    kv = dict(re.findall(r"(\w+)=(\S+)", text))
    print(kv["rows"], kv["high_value"], kv["duration"], kv["ratio"])
PYEOF
}

# 4. Timings: the inputs are read once so no tool pays for a cold page cache, and flushed so the
# first tool timed does not share the disk with their writeback. Tools alternate within each round.
cat "$WORK"/distinct*.csv "$WORK"/distinct*.parquet "$WORK/replayed.csv" > /dev/null
sync
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 1; i <= RUNS; i++)); do
  log "round $i/$RUNS"
  ts ts_csv "$WORK/distinct.csv"; duck duck_csv "$WORK/distinct.csv"
  ts ts_parquet "$WORK/distinct.parquet"; duck duck_parquet "$WORK/distinct.parquet"
  ts ts_replayed "$WORK/replayed.csv"; duck duck_replayed "$WORK/replayed.csv"
done
for ((i = 1; i <= RUNS_PY; i++)); do
  log "seed Python, run $i/$RUNS_PY (slow)"
  once python "$WORK/seed.sqlite $WORK/seed.sqlite-journal" "$PY" "$SHARED/seed_baseline.py" "$WORK/distinct.csv" "$WORK/seed.sqlite"
done
for ((i = 1; i <= RUNS_LARGE; i++)); do
  ts ts_large_csv "$WORK/distinct-large.csv"; ts ts_large_parquet "$WORK/distinct-large-1rg.parquet"
  if [[ $COPIES_XL -gt 0 ]]; then
    ts ts_xl_csv "$WORK/distinct-xl.csv"; ts ts_xl_parquet "$WORK/distinct-xl-1rg.parquet"
  fi
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# 5. The report.
row() { # row NAME LABEL [BASELINE]
  local rows hv du ra s ratio=""
  read -r rows hv du ra < <(counts "$1")
  s=$(median "${T[$1]}")
  [[ -n ${3:-} ]] && ratio=$(awk -v a="$s" -v b="$(median "${T[$3]}")" 'BEGIN {printf "%.2fx", a / b}')
  printf '| %s | %d | %d | %.2f (%s) | %s | %.0f | %d | %s / %s / %s |\n' "$2" "$rows" \
    "$(wc -w <<< "${T[$1]}")" "$s" "$(tr ' ' '\n' <<< "${T[$1]}" | grep . | sort -g | paste -sd' ' | sed 's/ / · /g')" \
    "$ratio" "$(awk -v n="$rows" -v s="$s" 'BEGIN {print n / s}')" "${R[$1]}" "$hv" "$du" "$ra"
}
{
  echo "### End to end on distinct trips: \`taxistream run\` vs DuckDB and the seed Python ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), Linux $(uname -r)," \
    "$(free -m | awk '/^Mem:/ {printf "%.0f", $2 / 1024}') GiB RAM. $("$BIN" --version), git $(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo '-dirty')," \
    "DuckDB $DUCKDB_VERSION (2 threads), $("$PY" --version). Load average (1/5/15 min): $LOAD_START at start, $LOAD_END at end."
  echo
  echo "Command: \`COPIES=$COPIES COPIES_LARGE=$COPIES_LARGE COPIES_XL=$COPIES_XL RUNS=$RUNS RUNS_PY=$RUNS_PY RUNS_LARGE=$RUNS_LARGE scripts/bench_e2e.sh\`"
  echo
  echo "| tool, input | rows | runs | median s (all runs) | taxistream / DuckDB | rows/s | peak RSS MiB | items: high_value / duration / ratio |"
  echo "|---|---:|---:|---|---:|---:|---:|---|"
  row ts_csv "taxistream run, distinct CSV" duck_csv
  row duck_csv "DuckDB, distinct CSV"
  row ts_parquet "taxistream run, distinct Parquet" duck_parquet
  row duck_parquet "DuckDB, distinct Parquet"
  row python "seed Python, distinct CSV"
  row ts_replayed "taxistream run, replayed file (every trip 4 times)" duck_replayed
  row duck_replayed "DuckDB, replayed file"
  row ts_large_csv "taxistream run, $((COPIES_LARGE * 240))k distinct rows, CSV"
  row ts_large_parquet "taxistream run, $((COPIES_LARGE * 240))k distinct rows, Parquet in 1 row group"
  if [[ $COPIES_XL -gt 0 ]]; then
    row ts_xl_csv "taxistream run, $((COPIES_XL * 240))k distinct rows, CSV"
    row ts_xl_parquet "taxistream run, $((COPIES_XL * 240))k distinct rows, Parquet in 1 row group"
  fi
  echo
  echo "Seed Python / taxistream on the distinct CSV: **$(awk -v a="$(median "${T[python]}")" -v b="$(median "${T[ts_csv]}")" 'BEGIN {printf "%.1fx", a / b}')** faster."
  echo
  echo "Wall time and peak RSS by GNU \`/usr/bin/time -f '%e %M'\` (whole process, start-up included). Input:" \
    "../shared/bench/make_distinct_input.py (the 240,000 real trips of ../shared/data, copy k moved k weeks later)." \
    "The baselines count every row and build no key; taxistream also keeps a unique trip_id key per table," \
    "finds duplicates and accounts for every row. Compare speed, not counts, on the replayed file."
} | tee "$WORK/results.md"
