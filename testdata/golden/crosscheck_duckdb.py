#!/usr/bin/env python3
"""Method 2: recompute the golden figures with DuckDB SQL and compare them
with the JSON files written by compute_golden.py.

DuckDB does its own CSV / Parquet reading. Money and distances are compared
as DECIMAL(38,10) (CSV text cast directly; Parquet doubles cast through
DuckDB's shortest round-trip VARCHAR rendering), never as DOUBLE; the
fare-per-mile tiers use fare < 3*distance / fare <= 7*distance, which equals
the exact ratio test because distance > 0. Timestamps are TIMESTAMP_NS and
durations are integer nanoseconds.

Usage (from the repo root, after compute_golden.py):
    /tmp/golden-venv/bin/python testdata/golden/crosscheck_duckdb.py
Exit status 1 when any figure differs.
"""
import json
import os
import sys

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)

CANON = {  # lowercase trimmed column name -> (canonical field, kind)
    "trip_id": ("trip_id", "text"),
    "vendor_id": ("vendor_id", "int_or_text"), "vendorid": ("vendor_id", "int_or_text"),
    "vendor_name": ("vendor_id", "int_or_text"),
    "pickup_datetime": ("pickup", "ts"), "tpep_pickup_datetime": ("pickup", "ts"),
    "lpep_pickup_datetime": ("pickup", "ts"), "trip_pickup_datetime": ("pickup", "ts"),
    "dropoff_datetime": ("dropoff", "ts"), "tpep_dropoff_datetime": ("dropoff", "ts"),
    "lpep_dropoff_datetime": ("dropoff", "ts"), "trip_dropoff_datetime": ("dropoff", "ts"),
    "passenger_count": ("passenger_count", "int"),
    "rate_code": ("rate_code", "int"), "rate_code_id": ("rate_code", "int"),
    "ratecodeid": ("rate_code", "int"),
    "pickup_location_id": ("pu", "int"), "pulocationid": ("pu", "int"),
    "dropoff_location_id": ("do", "int"), "dolocationid": ("do", "int"),
    "payment_type": ("payment_type", "int_or_text"),
    "store_and_fwd_flag": ("store_and_fwd_flag", "text"),
    "store_and_forward": ("store_and_fwd_flag", "text"),
    "trip_distance": ("dist", "dec"),
    "fare_amount": ("fare", "dec"), "fare_amt": ("fare", "dec"),
    "total_amount": ("total", "dec"), "total_amt": ("total", "dec"),
    "extra": ("extra", "dec"), "surcharge": ("extra", "dec"),
    "mta_tax": ("mta_tax", "dec"), "tip_amount": ("tip", "dec"), "tip_amt": ("tip", "dec"),
    "tolls_amount": ("tolls", "dec"), "tolls_amt": ("tolls", "dec"),
    "improvement_surcharge": ("improvement_surcharge", "dec"),
    "congestion_surcharge": ("congestion_surcharge", "dec"),
    "airport_fee": ("airport_fee", "dec"), "cbd_congestion_fee": ("cbd_congestion_fee", "dec"),
    "ehail_fee": ("ehail_fee", "dec"),
}
DEC = "DECIMAL(38,10)"
TS_RX = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$"
NUM_RX = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"


def q(name):
    return '"' + name.replace('"', '""') + '"'


def build(con, source, is_csv):
    cols = con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
    norm, checks, named = [], [], {}
    for name, typ, *_ in cols:
        canon, kind = CANON.get(name.strip().lower(), (None, "text"))
        c = q(name)
        if is_csv or typ == "VARCHAR":
            v = f"NULLIF(TRIM({c}), '')"
            if kind == "ts":
                expr = f"CAST({v} AS TIMESTAMP_NS)"
                checks.append(f"{v} IS NULL")  # missing
                checks.append(f"NOT regexp_full_match({v}, '{TS_RX}') OR TRY_CAST({v} AS TIMESTAMP_NS) IS NULL")
            elif kind in ("dec", "int"):
                expr = f"TRY_CAST({v} AS {DEC})"
                checks.append(f"{v} IS NOT NULL AND NOT regexp_full_match({v}, '{NUM_RX}')")
                if kind == "int":
                    checks.append(f"{v} IS NOT NULL AND TRY_CAST({v} AS {DEC}) <> ROUND(TRY_CAST({v} AS {DEC}))")
            elif kind == "int_or_text":
                expr = (f"CASE WHEN regexp_full_match({v}, '{NUM_RX}') "
                        f"THEN CAST(CAST({v} AS {DEC}) AS VARCHAR) ELSE 'T:' || {v} END")
            else:
                expr = v
        else:
            if typ.startswith("TIMESTAMP"):
                expr = f"CAST({c} AS TIMESTAMP_NS)"
                checks.append(f"{c} IS NULL")
            elif typ in ("DOUBLE", "FLOAT"):
                expr = f"CAST(CAST({c} AS VARCHAR) AS {DEC})"
                if kind == "int":
                    checks.append(f"{c} IS NOT NULL AND {c} <> ROUND({c})")
            else:
                expr = f"CAST({c} AS {DEC})" if typ in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT") else c
        if canon and canon not in named:
            named[canon] = f"c{len(norm)}"
        norm.append(f"{expr} AS c{len(norm)}")
    rejected_cond = " OR ".join(f"({x})" for x in checks) or "FALSE"
    return norm, named, rejected_cond


def figures(con, fname):
    path = os.path.join(TESTDATA, fname)
    is_csv = fname.endswith(".csv")
    source = (f"read_csv('{path}', all_varchar=true, header=true)" if is_csv
              else f"read_parquet('{path}')")
    norm, named, rej = build(con, source, is_csv)
    con.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM {source}")
    rows_read = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    # rejected rows (no row in these files is expected to be rejected)
    rejected = con.execute(f"SELECT count(*) FROM raw WHERE {rej}").fetchall()[0][0]
    con.execute(f"CREATE OR REPLACE TEMP TABLE t AS SELECT DISTINCT {', '.join(norm)} "
                f"FROM raw WHERE NOT ({rej})")
    trips = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    p, d = named["pickup"], named["dropoff"]
    dist, fare, total = named.get("dist"), named.get("fare"), named.get("total")
    hv = f"count(*) FILTER (WHERE {total} > 50.00)" if total else "0"
    ratio_ok = f"{dist} > 0 AND {fare} IS NOT NULL" if dist and fare else "FALSE"
    sql = f"""
      WITH x AS (SELECT *, epoch_ns({d}) - epoch_ns({p}) AS dur FROM t)
      SELECT
        {hv},
        count(*),
        count(*) FILTER (WHERE {ratio_ok}),
        count(*) FILTER (WHERE dur > 0 AND dur <= 86400000000000 AND dur < 600000000000),
        count(*) FILTER (WHERE dur >= 600000000000 AND dur <= 1800000000000),
        count(*) FILTER (WHERE dur > 1800000000000 AND dur <= 86400000000000),
        count(*) FILTER (WHERE dur <= 0 OR dur > 86400000000000),
        {f"count(*) FILTER (WHERE {ratio_ok} AND {fare} < 3.00 * {dist})" if dist and fare else "0"},
        {f"count(*) FILTER (WHERE {ratio_ok} AND {fare} >= 3.00 * {dist} AND {fare} <= 7.00 * {dist})" if dist and fare else "0"},
        {f"count(*) FILTER (WHERE {ratio_ok} AND {fare} > 7.00 * {dist})" if dist and fare else "0"}
      FROM x"""
    r = con.execute(sql).fetchall()[0]
    return {
        "rows_read": rows_read, "trips": trips,
        "duplicates": rows_read - rejected - trips, "rejected": rejected,
        "items": {"high_value_trips": r[0], "trip_duration_analysis": r[1],
                  "distance_to_fare_ratio": r[2]},
        "duration_category": {"short": r[3], "medium": r[4], "long": r[5], "invalid": r[6]},
        "profitability": {"low": r[7], "standard": r[8], "premium": r[9]},
    }


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def main():
    con = duckdb.connect()
    bad = 0
    files = sorted(f for f in os.listdir(TESTDATA) if f.endswith((".csv", ".parquet")))
    for f in files:
        golden = json.load(open(os.path.join(HERE, f + ".json")))
        got = flatten(figures(con, f))
        want = flatten(golden)
        diffs = [(k, want.get(k), v) for k, v in got.items() if want.get(k) != v]
        status = "OK " if not diffs else "DIFF"
        print(f"{status} {f}: " + " ".join(f"{k}={v}" for k, v in got.items()))
        for k, w, g in diffs:
            print(f"     {k}: python={w} duckdb={g}")
        bad += bool(diffs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
