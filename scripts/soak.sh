#!/usr/bin/env bash
# Soak: (1) 10M distinct real trips (../shared/bench/make_distinct_input.py, 42 copies) through
# `taxistream run` (release), with wall time, peak RSS and the accounting checked exactly; (2) a
# long `taxistream consume` against moto, stopped with SIGTERM every few seconds and restarted
# until the stream is drained, its records and tables checked against `taxistream run`.
# Figures go to BENCHMARKS.md by hand.
#
# usage (from the repo root): scripts/soak.sh
# env: COPIES=42  CONSUME_FILE=testdata/yellow_tripdata_2025-01_first10k.csv  STOP_EVERY_S=3
#      BENCH_DIR=target/soak  BENCH_SHARED=../shared/bench
set -euo pipefail
cd "$(dirname "$0")/.."
COPIES=${COPIES:-42} STOP_EVERY_S=${STOP_EVERY_S:-3}
CONSUME_FILE=${CONSUME_FILE:-testdata/yellow_tripdata_2025-01_first10k.csv}
WORK=${BENCH_DIR:-target/soak} SHARED=${BENCH_SHARED:-../shared/bench}
mkdir -p "$WORK"
cargo build --release --locked -q -p taxistream
BIN=$PWD/target/release/taxistream

# (1) 10M distinct trips through run.
input="$WORK/distinct-$COPIES.csv"
[ -s "$input" ] || python3 "$SHARED/make_distinct_input.py" "$input" "$COPIES" >&2
rm -f "$WORK/soak.db" "$WORK/soak-rejects.csv"
/usr/bin/time -f '%e %M' -o "$WORK/run.time" "$BIN" run --json --no-progress \
  --db "$WORK/soak.db" --rejects "$WORK/soak-rejects.csv" "$input" >"$WORK/run.json"
read -r wall kib <"$WORK/run.time"
python3 - "$WORK/run.json" "$WORK/soak.db" "$wall" "$kib" <<'EOF'
import json, sqlite3, sys
summary = json.load(open(sys.argv[1]))
a = summary["accounting"]
db = sqlite3.connect(sys.argv[2])
rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("high_value_trips", "trip_duration_analysis", "distance_to_fare_ratio")}
assert a["rows_read"] == a["trips"] + a["duplicates"] + a["rejected"], a
assert rows["trip_duration_analysis"] == a["trips"], (rows, a)
assert all(rows[t] == a["items"][t] for t in rows), (rows, a["items"])
print(f"run: {a['rows_read']} rows read = {a['trips']} trips + {a['duplicates']} duplicates + "
      f"{a['rejected']} rejected; tables {rows}; {sys.argv[3]} s, peak {int(sys.argv[4]) // 1024} MiB")
EOF

# (2) A long consume with restarts, against moto.
source scripts/lib/python_env.sh
source scripts/lib/moto.sh
python_env .venv/aws scripts/requirements-aws.txt >/dev/null
start_moto .venv/aws
STREAM=soak-$$
export TAXISTREAM_STREAM=$STREAM TAXISTREAM_TABLE_HIGH_VALUE_TRIPS=soak-$$-high_value_trips \
  TAXISTREAM_TABLE_TRIP_DURATION_ANALYSIS=soak-$$-trip_duration_analysis TAXISTREAM_TABLE_DISTANCE_TO_FARE_RATIO=soak-$$-distance_to_fare_ratio
.venv/aws/bin/python - <<EOF
import boto3
boto3.client("kinesis").create_stream(StreamName="$STREAM", ShardCount=2)
for name in ("high_value_trips", "trip_duration_analysis", "distance_to_fare_ratio"):
    boto3.client("dynamodb").create_table(TableName=f"soak-$$-{name}", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "trip_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "trip_id", "KeyType": "HASH"}])
EOF
"$BIN" produce --json --no-progress "$CONSUME_FILE" >"$WORK/produce.json"
checkpoint="$WORK/consume.checkpoint.json"
rm -f "$checkpoint"
runs=0 done_total=0 started=$(date +%s)
while :; do
  runs=$((runs + 1))
  "$BIN" consume --json --no-progress --checkpoint "$checkpoint" --rejects "$WORK/consume-rejects.csv" \
    --poll-interval-ms 50 --until-idle \
    >"$WORK/consume-$runs.json" 2>"$WORK/consume-$runs.err" &
  pid=$!
  sleep "$STOP_EVERY_S"
  if kill -TERM "$pid" 2>/dev/null; then wait "$pid" || true; else wait "$pid"; fi
  done_now=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['report']['totals']['records_done'])" "$WORK/consume-$runs.json")
  done_total=$((done_total + done_now))
  interrupted=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['report']['interrupted'])" "$WORK/consume-$runs.json")
  [ "$interrupted" = "True" ] || break
done
trips=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['accounting']['trips'])" "$WORK/produce.json")
echo "consume: $runs runs (SIGTERM every ${STOP_EVERY_S} s), $done_total records done of $trips sent, $(( $(date +%s) - started )) s"
[ "$done_total" -eq "$trips" ] || { echo "records lost or done twice" >&2; exit 1; }
rm -f "$WORK/local.db"
"$BIN" run --json --no-progress --db "$WORK/local.db" --rejects "$WORK/local-rejects.csv" "$CONSUME_FILE" >/dev/null
.venv/aws/bin/python - "$WORK/local.db" <<EOF
import boto3, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for name in ("high_value_trips", "trip_duration_analysis", "distance_to_fare_ratio"):
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=f"soak-$$-{name}", Select="COUNT")
    aws = sum(page["Count"] for page in pages)
    local = db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    assert aws == local, (name, aws, local)
    print(f"  {name}: {aws} items on DynamoDB = {local} rows locally")
EOF
