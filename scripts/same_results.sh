#!/usr/bin/env bash
# Checks that two builds of taxistream give byte-identical results: for each input, both run on it
# alone (cold database), then the three tables (every column, with its SQLite type, in trip_id
# order), the rejects file and the JSON summary (less timings) are compared. For performance work:
# a change must not move a single id, value or reject.
#
# usage (from the repo root): scripts/same_results.sh OLD_BIN NEW_BIN [INPUT...]
# default inputs: every file of testdata/ and an edge-case CSV made here (spaces, quotes, blank
# lines, non-UTF-8, multibyte text, bad rows). Needs sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: same_results.sh OLD_BIN NEW_BIN [INPUT...]} new=${2:?usage: same_results.sh OLD_BIN NEW_BIN [INPUT...]}
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

edge=$work/edge_cases.csv
{
  printf 'VendorID, tpep_pickup_datetime ,tpep_dropoff_datetime,passenger_count,trip_distance,fare_amount,total_amount,zone,Note\r\n'
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,1.60,10,18,Café,plain\r\n'
  printf ' 2 ,\t2025-01-01 00:00:00 , 2025-01-01 00:20:00.500 , 1.0 , .5 , 12.30 , 60 ," Zürich "," quoted, with comma "\r\n'
  printf '\r\n   \r\n""\r\n'
  printf 'CMT,2025-01-01T00:00:00,2025-01-01 01:00:00,,0,5,,x,\r\n'
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,1.6,10,18,a,b, ,\t\r\n'
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,1.6,10,18,a,b,x\r\n'
  printf '1,2025-01-01 00:00:00,2025-02-30 00:10:00,1,1.6,10,18,a,b\r\n'
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1.5,1.6,10,18,a,b\r\n'
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,1e-05,-0.00,+3,a,b\r\n'
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,123456789012345678901234567,0.000000000000000000000000001,18,a,b\r\n'
  printf '1,2025-01-01 00:00:00, ,1,1.6,10,18,a,b\r\n'
  printf '1,2025-01-01 00:00:00\r\n'
  printf '"1","2025-01-01 00:00:00","2025-01-01 00:10:00","1","1.6","10","18","a ""q"" b",c\r\n'
  # Past the first 256 KiB (which must be UTF-8 for the file to be read as CSV): bad bytes.
  for ((i = 0; i < 4500; i++)); do
    printf '2,2025-01-01 00:%02d:00,2025-01-01 01:%02d:00,%d,%d.%02d,%d.5,%d,z%d,n\r\n' \
      $((i % 60)) $((i % 60)) $((i % 5)) $((i % 30)) $((i % 100)) $((i % 70)) $((i % 90)) "$i"
  done
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,1.6,10,18,Caf\xe9,bad utf-8\r\n'
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,1.6,10,18,\xc3,\xa9\r\n'
  printf '1,2025-01-01 00:00:00,2025-01-01 00:10:00,1,1.6,10,18, \xc3\xa9 ,\xe2\x82\r\n'
} > "$edge"

inputs=("$@")
if [[ ${#inputs[@]} -eq 0 ]]; then
  inputs=(testdata/*.csv testdata/*.parquet "$edge")
fi

# dump BIN INPUT OUT: runs BIN on INPUT and writes everything it produced to OUT.
dump() {
  local bin=$1 input=$2 out=$3 db=$work/t.db rejects=$work/r.csv table
  rm -f "$db" "$db-wal" "$db-shm" "$rejects"
  "$bin" run --no-progress --json --db "$db" --rejects "$rejects" "$input" |
    grep -v -E '"(elapsed_seconds|rows_per_second|database|rejects_file)"' > "$out"
  for table in high_value_trips trip_duration_analysis distance_to_fare_ratio; do
    echo "== $table" >> "$out"
    sqlite3 -batch "$db" ".mode quote" "SELECT * FROM $table ORDER BY trip_id" >> "$out"
  done
  echo "== rejects" >> "$out"
  cat "$rejects" >> "$out"
}

status=0
for input in "${inputs[@]}"; do
  dump "$old" "$input" "$work/old.txt"
  dump "$new" "$input" "$work/new.txt"
  if cmp -s "$work/old.txt" "$work/new.txt"; then
    echo "same: $input ($(grep -c '' "$work/new.txt") lines)"
  else
    echo "DIFFERENT: $input"
    diff "$work/old.txt" "$work/new.txt" | head -n 20
    status=1
  fi
done
exit $status
