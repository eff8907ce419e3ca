#!/usr/bin/env bash
# Hostile inputs through `taxistream run` (release build): exit code, wall time, peak RSS, and what
# was rejected. The inputs are made here, each a valid header and a good row around the hostile one:
#   line-1gib.csv.gz  a 1 GiB line without a line feed, gzip-compressed (about 1 MB)
#   field-64mib.csv   a quoted field of 64 MiB
#   vendor-450kb.csv  a row whose vendor_id is 450 KB of text (a DynamoDB item over 400 KB)
#   page-bomb.parquet a zstd Parquet page of a few KB that decodes to 512 MiB (written by pyarrow)
# Figures go to BENCHMARKS.md by hand. Targets (issue 13): exit code < 100, peak RSS <= 256 MB.
#
# usage (from the repo root): scripts/bench_hostile.sh
# env: BENCH_DIR=target/bench-hostile  BENCH_VENV=target/bench-venv (pyarrow, as scripts/bench_e2e.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${BENCH_DIR:-target/bench-hostile}
mkdir -p "$WORK"

cargo build --release --locked -q -p taxistream
BIN=$PWD/target/release/taxistream
VENV=${BENCH_VENV:-target/bench-venv}
PYARROW_VERSION=26.0.1 # as scripts/bench_e2e.sh
if ! "$VENV/bin/python" -c "import pyarrow, sys; sys.exit(pyarrow.__version__ != '$PYARROW_VERSION')" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "pyarrow==$PYARROW_VERSION"
fi

python3 - "$WORK" <<'EOF'
import gzip, os, sys
work = sys.argv[1]
header = "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,fare_amount,total_amount\n"
good = "1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,2.5,12,15\n"
other = "2,2025-01-01 00:05:00,2025-01-01 00:20:00,1,3.5,16,19\n"
path = os.path.join(work, "line-1gib.csv.gz")
if not os.path.exists(path):
    with gzip.open(path, "wb", compresslevel=6) as out:
        out.write((header + good).encode())
        chunk = b"x" * (1 << 20)
        for _ in range(1024):
            out.write(chunk)
with open(os.path.join(work, "field-64mib.csv"), "w") as out:
    out.write(header + good)
    out.write('1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,2.5,12,"' + "y" * (64 << 20) + '"\n')
    out.write(other)
with open(os.path.join(work, "vendor-450kb.csv"), "w") as out:
    out.write(header + good)
    out.write('"' + "v" * (450 * 1024) + '",2025-01-01 00:00:00,2025-01-01 00:10:00,1,2.5,12,15\n')
    out.write(other)
EOF
"$VENV/bin/python" - "$WORK" <<'EOF'
import os, sys
import pyarrow as pa, pyarrow.parquet as pq
path = os.path.join(sys.argv[1], "page-bomb.parquet")
if not os.path.exists(path):
    table = pa.table({
        "tpep_pickup_datetime": pa.array([1735689600_000000], pa.timestamp("us")),
        "tpep_dropoff_datetime": pa.array([1735690200_000000], pa.timestamp("us")),
        "store_and_fwd_flag": pa.array(["N" * (512 << 20)], pa.large_string()),
    })
    pq.write_table(table, path, compression="zstd", use_dictionary=False, write_statistics=False,
                   data_page_size=1 << 31)
EOF

printf '%-18s %5s %8s %10s  %s\n' input exit wall_s peak_MiB "rows read / trips / rejected (reasons)"
for input in line-1gib.csv.gz field-64mib.csv vendor-450kb.csv page-bomb.parquet; do
  out="$WORK/out-$input"
  rm -rf "$out" && mkdir -p "$out"
  set +e
  /usr/bin/time -f '%x %e %M' -o "$out/time" "$BIN" run --json --no-progress \
    --db "$out/t.db" --rejects "$out/rejects.csv" "$WORK/$input" >"$out/summary.json" 2>"$out/stderr"
  set -e
  read -r code wall kib < <(tail -1 "$out/time")
  summary=$(python3 - "$out/summary.json" <<'EOF'
import json, sys
try:
    a = json.load(open(sys.argv[1]))["accounting"]
    print(f'{a["rows_read"]} / {a["trips"]} / {a["rejected"]} {a.get("rejected_by_reason", {})}')
except Exception as error:
    print(f"no summary: {error}")
EOF
)
  printf '%-18s %5s %8s %10s  %s\n' "$input" "$code" "$wall" "$((kib / 1024))" "$summary"
done
echo "rejects files: $(du -ch "$WORK"/out-*/rejects.csv | tail -1)"
