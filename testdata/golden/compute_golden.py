#!/usr/bin/env python3
"""Golden figures for the taxi-trip analytics pipeline (method 1: pure Python).

Independent of the Rust implementation. Reads every CSV / Parquet file in
testdata/ and writes testdata/golden/<file name>.json.

CSV: stdlib csv + decimal.  Parquet: pyarrow (values read as Python objects,
doubles converted via repr(float), i.e. the shortest round-trip decimal).

Usage (from the repo root):
    /tmp/golden-venv/bin/python testdata/golden/compute_golden.py
"""
import csv
import datetime as dt
import decimal
import json
import os
import re
import sys
from collections import Counter
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)

# Exact arithmetic: any inexact decimal operation is an error.
decimal.getcontext().prec = 200
decimal.getcontext().traps[decimal.Inexact] = True
decimal.getcontext().traps[decimal.Rounded] = True

# ---------------------------------------------------------------- alias table
# contract section 1; keys are lowercase, trimmed column names
ALIASES = {
    "trip_id": ["trip_id"],
    "vendor_id": ["vendor_id", "vendorid", "vendor_name"],
    "pickup_datetime": ["pickup_datetime", "tpep_pickup_datetime",
                        "lpep_pickup_datetime", "trip_pickup_datetime"],
    "dropoff_datetime": ["dropoff_datetime", "tpep_dropoff_datetime",
                         "lpep_dropoff_datetime", "trip_dropoff_datetime"],
    "passenger_count": ["passenger_count"],
    "trip_distance": ["trip_distance"],
    "rate_code": ["rate_code", "rate_code_id", "ratecodeid"],
    "store_and_fwd_flag": ["store_and_fwd_flag", "store_and_forward"],
    "pickup_location_id": ["pickup_location_id", "pulocationid"],
    "dropoff_location_id": ["dropoff_location_id", "dolocationid"],
    "payment_type": ["payment_type"],
    "fare_amount": ["fare_amount", "fare_amt"],
    "extra": ["extra", "surcharge"],
    "mta_tax": ["mta_tax"],
    "tip_amount": ["tip_amount", "tip_amt"],
    "tolls_amount": ["tolls_amount", "tolls_amt"],
    "improvement_surcharge": ["improvement_surcharge"],
    "congestion_surcharge": ["congestion_surcharge"],
    "airport_fee": ["airport_fee"],
    "cbd_congestion_fee": ["cbd_congestion_fee"],
    "ehail_fee": ["ehail_fee"],
    "total_amount": ["total_amount", "total_amt"],
}
NAME_TO_CANON = {a: c for c, names in ALIASES.items() for a in names}

TIMESTAMP = {"pickup_datetime", "dropoff_datetime"}
INTEGER = {"passenger_count", "rate_code", "pickup_location_id", "dropoff_location_id"}
DECIMAL = {"trip_distance", "fare_amount", "extra", "mta_tax", "tip_amount",
           "tolls_amount", "improvement_surcharge", "congestion_surcharge",
           "airport_fee", "cbd_congestion_fee", "ehail_fee", "total_amount"}
INT_OR_TEXT = {"vendor_id", "payment_type"}
# everything else (trip_id, store_and_fwd_flag, carried-through columns) is text


class Reject(Exception):
    def __init__(self, reason):
        self.reason = reason


# ------------------------------------------------------------------ parsing
TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$")
DEC_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
EPOCH = dt.datetime(1970, 1, 1)


def parse_ts_text(s):
    """-> nanoseconds since 1970-01-01 (naive local), or raise Reject."""
    m = TS_RE.match(s)
    if not m:
        raise Reject("bad_timestamp")
    y, mo, d, h, mi, se, frac = m.groups()
    try:
        t = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(se))
    except ValueError:
        raise Reject("bad_timestamp")
    delta = t - EPOCH
    ns = (delta.days * 86400 + delta.seconds) * 10**9
    if frac:
        ns += int(frac.ljust(9, "0"))
    return ns


def parse_dec_text(s):
    if not DEC_RE.match(s):
        raise Reject("bad_number")
    return Decimal(s)


def float_to_dec(f):
    r = repr(float(f))
    if r in ("nan", "inf", "-inf"):
        raise Reject("bad_number")
    return Decimal(r)


def normalize(canon, v):
    """Validate and normalize one cell.

    v is None (absent), a str (CSV text, already trimmed, non-empty, or a Parquet
    string), an int, a float, or ('ts', ns) for a Parquet timestamp.
    Returns the normalized value used for identity and analytics."""
    if isinstance(v, str):
        v = v.strip()
        if v == "":
            v = None
    if canon in TIMESTAMP:
        if v is None:
            raise Reject("missing_timestamp")
        if isinstance(v, tuple):
            return v[1]
        if isinstance(v, str):
            return parse_ts_text(v)
        raise Reject("bad_timestamp")
    if v is None:
        return None
    if isinstance(v, tuple):  # timestamp in a non-timestamp column
        return ("ts", v[1])
    if canon in INTEGER or canon in DECIMAL:
        if isinstance(v, str):
            d = parse_dec_text(v)
        elif isinstance(v, bool):
            raise Reject("bad_number")
        elif isinstance(v, int):
            d = Decimal(v)
        else:
            d = float_to_dec(v)
        if canon in INTEGER and d != d.to_integral_value():
            raise Reject("bad_number")
        return d
    if canon in INT_OR_TEXT:
        if isinstance(v, str):
            return Decimal(v) if DEC_RE.match(v) else ("text", v)
        if isinstance(v, int):
            return Decimal(v)
        return float_to_dec(v)
    # text: trip_id, store_and_fwd_flag, carried-through columns
    if isinstance(v, str):
        return ("text", v)
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return float_to_dec(v)
    return ("other", repr(v))


# ----------------------------------------------------------------- analysis
def new_stats(name):
    return {
        "file": name,
        "rows_read": 0,
        "trips": 0,
        "duplicates": 0,
        "rejected": 0,
        "rejected_by_reason": Counter(),
        "items": {"high_value_trips": 0, "trip_duration_analysis": 0,
                  "distance_to_fare_ratio": 0},
        "duration_category": {"short": 0, "medium": 0, "long": 0, "invalid": 0},
        "profitability": {"low": 0, "standard": 0, "premium": 0},
        "_seen": set(),
    }


FIFTY = Decimal("50.00")
THREE = Decimal("3.00")
SEVEN = Decimal("7.00")
NS = 10**9


def process_row(stats, canon_of_col, cells, reject_reason=None):
    """cells: raw values in file column order."""
    stats["rows_read"] += 1
    if reject_reason is not None:
        stats["rejected"] += 1
        stats["rejected_by_reason"][reject_reason] += 1
        return
    try:
        norm = [normalize(c, v) for c, v in zip(canon_of_col, cells)]
    except Reject as r:
        stats["rejected"] += 1
        stats["rejected_by_reason"][r.reason] += 1
        return
    rec = {}
    for c, v in zip(canon_of_col, norm):
        if c in ALIASES:
            rec[c] = v
    tid = rec.get("trip_id")
    key = ("id", tid[1]) if tid is not None else ("row", tuple(norm))
    if key in stats["_seen"]:
        stats["duplicates"] += 1
        return
    stats["_seen"].add(key)
    stats["trips"] += 1

    # trip_duration_analysis: always
    stats["items"]["trip_duration_analysis"] += 1
    dur = rec["dropoff_datetime"] - rec["pickup_datetime"]
    if dur <= 0 or dur > 86400 * NS:
        cat = "invalid"
    elif dur < 600 * NS:
        cat = "short"
    elif dur <= 1800 * NS:
        cat = "medium"
    else:
        cat = "long"
    stats["duration_category"][cat] += 1

    total = rec.get("total_amount")
    if total is not None and total > FIFTY:
        stats["items"]["high_value_trips"] += 1

    dist = rec.get("trip_distance")
    fare = rec.get("fare_amount")
    if dist is not None and dist > 0 and fare is not None:
        stats["items"]["distance_to_fare_ratio"] += 1
        # ratio = fare / dist, dist > 0: compare fare with k * dist exactly
        if fare < THREE * dist:
            tier = "low"
        elif fare <= SEVEN * dist:
            tier = "standard"
        else:
            tier = "premium"
        stats["profitability"][tier] += 1


def canon_columns(names):
    canon = []
    for n in names:
        k = n.strip().lower()
        canon.append(NAME_TO_CANON.get(k, "carried:" + k))
    seen = [c for c in canon if c in ALIASES]
    if len(seen) != len(set(seen)):
        sys.exit(f"two columns map to the same canonical field: {names}")
    if "pickup_datetime" not in canon or "dropoff_datetime" not in canon:
        return None
    return canon


def run_csv(path):
    name = os.path.basename(path)
    stats = new_stats(name)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        canon = canon_columns(header)
        if canon is None:
            return None
        n = len(header)
        for row in reader:
            # csv.reader yields [] for blank lines (including a lone "\r")
            if len(row) == 0:
                continue
            if len(row) < n:
                process_row(stats, canon, None, "too_few_fields")
                continue
            if any(f.strip() != "" for f in row[n:]):
                process_row(stats, canon, None, "extra_fields")
                continue
            cells = [f.strip() or None for f in row[:n]]
            process_row(stats, canon, cells)
    return stats


def run_parquet(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = os.path.basename(path)
    stats = new_stats(name)
    table = pq.read_table(path)
    canon = canon_columns(table.column_names)
    if canon is None:
        return None
    cols = []
    for col in table.columns:
        t = col.type
        if pa.types.is_timestamp(t):
            factor = {"s": NS, "ms": 10**6, "us": 10**3, "ns": 1}[t.unit]
            ints = col.cast(pa.int64()).to_pylist()
            cols.append([None if x is None else ("ts", x * factor) for x in ints])
        elif pa.types.is_dictionary(t):
            cols.append(col.cast(t.value_type).to_pylist())
        else:
            cols.append(col.to_pylist())
    for i in range(table.num_rows):
        process_row(stats, canon, [c[i] for c in cols])
    return stats


def finish(stats):
    out = {
        "file": stats["file"],
        "rows_read": stats["rows_read"],
        "trips": stats["trips"],
        "duplicates": stats["duplicates"],
        "rejected": stats["rejected"],
        "rejected_by_reason": {k: v for k, v in sorted(stats["rejected_by_reason"].items()) if v > 0},
        "items": stats["items"],
        "duration_category": stats["duration_category"],
        "profitability": stats["profitability"],
    }
    assert out["rows_read"] == out["trips"] + out["duplicates"] + out["rejected"]
    return out


def main():
    files = sorted(f for f in os.listdir(TESTDATA)
                   if os.path.isfile(os.path.join(TESTDATA, f))
                   and f.lower().endswith((".csv", ".parquet")))
    for f in files:
        path = os.path.join(TESTDATA, f)
        stats = run_csv(path) if f.lower().endswith(".csv") else run_parquet(path)
        if stats is None:
            print(f"{f}: not a trip file (no pickup/dropoff timestamp columns), skipped")
            continue
        out = finish(stats)
        with open(os.path.join(HERE, f + ".json"), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(out, indent=2) + "\n")
        print(f"{f}: rows_read={out['rows_read']} trips={out['trips']} "
              f"duplicates={out['duplicates']} rejected={out['rejected']} "
              f"items={out['items']}")


if __name__ == "__main__":
    main()
