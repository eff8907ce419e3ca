#!/usr/bin/env bash
# A month-size object through the producer function against moto: 3.6M distinct real trips
# (../shared/bench/make_distinct_input.py, 15 copies) as Parquet written by DuckDB (30 row groups),
# the same rows as Parquet in one row group (as some TLC files are: a part cannot be smaller) and,
# on request, as plain CSV; each uploaded to S3, then the release `lambda-kinesis-producer` binary
# invoked once per event, a fresh process each time, behind a minimal Lambda runtime API
# (scripts/bench/month_producer.py): the S3 event, then every part and continuation it queues.
# Prints, per invocation, wall and CPU seconds, records and peak RSS; then `taxistream status`.
# Figures go to BENCHMARKS.md by hand. Wall times are moto's speed (it stores every record);
# CPU time and peak RSS are the producer's own.
#
# usage (from the repo root): scripts/bench_month.sh
# env: COPIES=15  SHARDS=4  PART_BYTES= (empty: the producer's default)
#      INPUTS="month.parquet month-1rg.parquet" (add month.csv for plain CSV)
#      BENCH_DIR=target/bench-month  BENCH_VENV=target/bench-venv  BENCH_SHARED=../shared/bench
set -euo pipefail
cd "$(dirname "$0")/.."

DUCKDB_VERSION=2.0.1 # as scripts/bench_e2e.sh
PYARROW_VERSION=26.0.1
COPIES=${COPIES:-15} SHARDS=${SHARDS:-4} PART_BYTES=${PART_BYTES:-}
INPUTS=${INPUTS:-month.parquet month-1rg.parquet}
WORK=${BENCH_DIR:-target/bench-month} VENV=${BENCH_VENV:-target/bench-venv}
SHARED=${BENCH_SHARED:-../shared/bench}
mkdir -p "$WORK"

if ! "$VENV/bin/python" -c "import duckdb, pyarrow" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "duckdb==$DUCKDB_VERSION" "pyarrow==$PYARROW_VERSION" >&2
fi
if [[ ! -s $WORK/month.parquet || $(cat "$WORK/month.copies" 2>/dev/null) != "$COPIES" ]]; then
  "$VENV/bin/python" "$SHARED/make_distinct_input.py" "$WORK/month.csv" "$COPIES" --parquet >&2
  echo "$COPIES" > "$WORK/month.copies"
  rm -f "$WORK/month-1rg.parquet"
fi
if [[ ! -s $WORK/month-1rg.parquet ]]; then # written by pyarrow, as the TLC's files are
  "$VENV/bin/python" - "$WORK/month.parquet" "$WORK/month-1rg.parquet" <<'PYEOF'
import pyarrow.parquet as pq, sys
table = pq.read_table(sys.argv[1])
pq.write_table(table, sys.argv[2], row_group_size=len(table), compression="zstd")
PYEOF
fi

cargo build --release --locked -p lambda-kinesis-producer -p taxistream >&2
source scripts/lib/python_env.sh
source scripts/lib/moto.sh
python_env .venv/aws scripts/requirements-aws.txt >&2
start_moto .venv/aws

echo "commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
for input in $INPUTS; do
  echo
  MONTH_LOG="$WORK/producer-$input.log" .venv/aws/bin/python scripts/bench/month_producer.py \
    target/release/lambda-kinesis-producer target/release/taxistream "$WORK/$input" \
    "$SHARDS" "$PART_BYTES"
done
echo "taxistream run on the same file, for the accounting:"
target/release/taxistream run "$WORK/month.parquet" --db "$WORK/run.db" --rejects "$WORK/run-rejects.csv" \
  --no-progress 2>&1 | head -n 8
