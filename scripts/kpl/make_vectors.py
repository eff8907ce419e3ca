#!/usr/bin/env python3
"""Writes scripts/kpl/vectors.json: byte vectors of KPL aggregated records for codec unit tests.

Deterministic (same bytes on every run); every case is checked against the
reference library's deaggregation (aws-kinesis-agg==1.2.3, see requirements.txt)
before anything is written. Python 3.11.

    .venv-kpl/bin/python scripts/kpl/make_vectors.py            # (re)write vectors.json
    .venv-kpl/bin/python scripts/kpl/make_vectors.py --check    # exit 1 if the file differs
    .venv-kpl/bin/python scripts/kpl/make_vectors.py --emit-1mib /tmp/one_mib.bin

Each case: name, description, outer_partition_key / outer_explicit_hash_key
(the Kinesis record's own keys), record_hex (magic + protobuf + MD5; null for
the 1 MiB case, which is described by length and hashes and rebuilt by
--emit-1mib), user_records [{partition_key, explicit_hash_key, data_hex}] (what
a correct decoder returns; [] when the record is not a valid aggregate),
library_result ("aggregated": user records yielded; "passthrough": the Kinesis
record yielded once, unchanged, as a non-aggregated record; "dropped": nothing
yielded; "partial": some yielded, then an error printed to stderr), and
library_user_records where the library's output differs from user_records.
"""

import argparse
import base64
import contextlib
import hashlib
import io
import json
import os
import sys

import aws_kinesis_agg
from aws_kinesis_agg.aggregator import AggRecord
from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from aws_kinesis_agg import messages_pb2  # importable once aggregator set sys.path

MAGIC = aws_kinesis_agg.MAGIC
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors.json")
ONE_MIB = 1024 * 1024
ONE_MIB_PK = "k"
# 4 magic + 16 MD5 + pk table entry (1 tag + 1 len + 1) + records entry
# (1 tag + 3 len + [1+1 index, 1 tag + 3 len + data]) = data + 33
ONE_MIB_DATA_LEN = ONE_MIB - 33


def wrap(body):
    return MAGIC + body + hashlib.md5(body).digest()


def ld(field, payload):
    """A length-delimited protobuf field (wire type 2), payload < 128 bytes."""
    assert len(payload) < 128
    return bytes([field << 3 | 2, len(payload)]) + payload


def ur(pk, data, ehk=None):
    return {"partition_key": pk, "explicit_hash_key": ehk, "data_hex": data.hex()}


def aggregate(users, max_size=aws_kinesis_agg.MAX_BYTES_PER_RECORD):
    """One aggregate from the library's AggRecord; fails if they do not all fit."""
    rec = AggRecord(max_size)
    for u in users:
        ok = rec.add_user_record(u["partition_key"], bytes.fromhex(u["data_hex"]),
                                 u["explicit_hash_key"])
        assert ok, "user records do not fit in one aggregate"
    return rec.get_contents()


def trip(i):
    return (b'{"trip_id":"t%06d","fare":%d.%02d,"miles":%d.%d}'
            % (i, 5 + i * 7 % 60, i * 13 % 100, 1 + i % 9, i % 10))


def _varint(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _fields(buf):
    """(field number, wire type, value) of a protobuf message; wire types 0 and 2 only."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
            assert pos <= len(buf), "truncated"
        else:
            raise AssertionError("unexpected wire type %d" % wire)
        yield number, wire, value


def independent_decode(record):
    """Stdlib-only decoder written from FORMAT.md, to cross-check the library."""
    assert record[:4] == MAGIC and hashlib.md5(record[4:-16]).digest() == record[-16:]
    pks, ehks, recs = [], [], []
    for number, wire, value in _fields(record[4:-16]):
        if (number, wire) == (1, 2):
            pks.append(value.decode("utf-8"))
        elif (number, wire) == (2, 2):
            ehks.append(value.decode("utf-8"))
        elif (number, wire) == (3, 2):
            r = {}
            for n, w, v in _fields(value):
                if (n, w) in ((1, 0), (2, 0), (3, 2)):
                    r[n] = v
            recs.append(r)
    return [ur(pks[r[1]], r[3], ehks[r[2]] if 2 in r else None) for r in recs]


def library_deaggregate(outer_pk, record):
    event = {"kinesis": {"kinesisSchemaVersion": "1.0", "sequenceNumber": "1",
                         "approximateArrivalTimestamp": None, "partitionKey": outer_pk,
                         "data": base64.b64encode(record).decode()}}
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        out = list(iter_deaggregate_records([event]))
    return out, err.getvalue()


def as_text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def verify(case, record):
    out, err = library_deaggregate(case["outer_partition_key"], record)
    result = case["library_result"]
    if result == "passthrough":
        assert not err and len(out) == 1 and "aggregated" not in out[0]["kinesis"], case["name"]
        assert base64.b64decode(out[0]["kinesis"]["data"]) == record, case["name"]
        return
    if result == "dropped":
        assert out == [], case["name"]
        return
    assert all(o["kinesis"]["aggregated"] for o in out), case["name"]
    got = [ur(as_text(o["kinesis"]["partitionKey"]), base64.b64decode(o["kinesis"]["data"]),
              as_text(o["kinesis"]["explicitHashKey"])) for o in out]
    assert [o["kinesis"]["subSequenceNumber"] for o in out] == list(range(len(out))), case["name"]
    if result == "aggregated":
        assert independent_decode(record) == case["user_records"], case["name"]
    want = case.get("library_user_records", case["user_records"])
    assert got == want, (case["name"], got, want)
    assert bool(err) == (result == "partial"), (case["name"], err)


def one_mib_record():
    data = bytes(i % 251 for i in range(ONE_MIB_DATA_LEN))
    pk, ehk, record = aggregate([ur(ONE_MIB_PK, data)])
    assert len(record) == ONE_MIB, len(record)
    return data, record


def build_cases():
    cases = []

    def add(name, description, users, result="aggregated", record=None, outer=None,
            library_users=None):
        if record is None:
            outer_pk, outer_ehk, record = aggregate(users)
        else:
            outer_pk, outer_ehk = outer if outer else ("outer", None)
        case = {"name": name, "description": description,
                "outer_partition_key": as_text(outer_pk),
                "outer_explicit_hash_key": as_text(outer_ehk) or None,
                "record_hex": record.hex(),
                "user_records": users if result in ("aggregated", "partial") else [],
                "library_result": result}
        if library_users is not None:
            case["library_user_records"] = library_users
        verify(case, record)
        cases.append(case)
        return record

    a = add("single_record", "(a) one user record, no explicit hash key.",
            [ur("t000001", trip(1))])
    b = add("three_records_one_pk", "(b) three user records sharing one partition key: the "
            "table holds it once, every record has partition_key_index 0.",
            [ur("shard-key-7", trip(i)) for i in range(3)])
    add("five_distinct_pks", "(c) five user records, five partition keys, indexes 0..4 in "
        "first-seen order; the outer partition key is the first record's.",
        [ur("t%06d" % i, trip(i)) for i in range(10, 15)])
    big = str(2**128 - 1)
    add("explicit_hash_keys", "(d) every record has an explicit hash key (decimal 128-bit "
        "strings); two distinct EHKs, so explicit_hash_key_index is 0,1,0; the outer EHK is "
        "the first record's.",
        [ur("a", b"x", "0"), ur("b", b"y", big), ur("c", b"z", "0")])
    add("mixed_explicit_hash_keys", "(d') a record without an EHK (field 2 absent) in an "
        "aggregate whose EHK table is not empty. Correct decoders give it no EHK; the library "
        "(deaggregator.py:50) reads the proto2 default index 0 and gives it ehks[0]. The "
        "outer EHK is the first record's, absent here.",
        [ur("a", b"no-ehk"), ur("b", b"with-ehk", "85070591730234615865843651857942052864")],
        library_users=[ur("a", b"no-ehk", "85070591730234615865843651857942052864"),
                       ur("b", b"with-ehk", "85070591730234615865843651857942052864")])
    add("multibyte_varints", "130 distinct partition keys (indexes >= 128 take 2-byte "
        "varints) and a 300-byte record (2-byte length varint).",
        [ur("pk%03d" % i, trip(i)) for i in range(129)] + [ur("pk129", bytes(range(256)) + b"z" * 44)])
    add("empty_string_partition_key", "A zero-length partition key in the table (0a 00). "
        "Kinesis refuses an empty PutRecord key, but the format and library allow it inside.",
        [ur("", b"data")])
    add("unknown_field_and_tags", "Hand-built: a Record with a Tag (field 4: key 'k', value "
        "'v') and an unknown field 15 on AggregatedRecord; both are skipped by decoders.",
        [ur("p", b"tagged")],
        record=wrap(ld(1, b"p")
                    + ld(3, bytes.fromhex("0800") + ld(3, b"tagged") + ld(4, ld(1, b"k") + ld(2, b"v")))
                    + ld(15, b"zz")),
        outer=("p", None))
    # (e): an empty partition-key table
    add("empty_aggregate", "(e) no keys and no records: the protobuf body is empty, so the "
        "record is magic + MD5('') = 20 bytes. Valid protobuf, but the library needs more than "
        "16 bytes after the magic (deaggregator.py:243) and passes it through; the library's "
        "own AggRecord.get_contents() on an empty aggregate yields these bytes.",
        [], result="passthrough", record=wrap(b""))
    no_table = messages_pb2.AggregatedRecord()
    r = no_table.records.add()
    r.partition_key_index = 0
    r.data = b"orphan"
    add("records_without_pk_table", "(e) a record but an empty partition_key_table: the "
        "protobuf allows it (repeated field, nothing cross-checks indexes) but no partition "
        "key exists. The library hits IndexError, prints to stderr and yields nothing for "
        "this Kinesis record (deaggregator.py:52,274-277). A decoder should reject it.",
        [], result="dropped", record=wrap(no_table.SerializeToString()))
    add("pk_table_without_records", "A partition_key_table entry and no records: a valid "
        "aggregate of zero user records; the library yields nothing, silently.",
        [], result="dropped", record=wrap(bytes.fromhex("0a0170")))
    oob = messages_pb2.AggregatedRecord()
    oob.partition_key_table.append("p")
    for idx, d in ((0, b"first"), (5, b"bad-index"), (0, b"after")):
        r = oob.records.add()
        r.partition_key_index = idx
        r.data = d
    add("pk_index_out_of_range", "Second of three records has partition_key_index 5 with a "
        "one-entry table. The library yields the first, prints the IndexError to stderr and "
        "loses the rest (no passthrough). A decoder should reject the whole record.",
        [], result="partial", record=wrap(oob.SerializeToString()),
        library_users=[ur("p", b"first")])
    add("bad_md5", "single_record with its last byte XOR 0xFF: MD5 mismatch, so the library "
        "passes the whole Kinesis record through as one non-aggregated record "
        "(deaggregator.py:256-257, 282-283).",
        [], result="passthrough", record=a[:-1] + bytes([a[-1] ^ 0xFF]), outer=("t000001", None))
    add("no_magic", "A plain JSON record: no magic, passed through.",
        [], result="passthrough", record=trip(1), outer=("t000001", None))
    add("magic_only_short", "Magic plus 16 bytes of zeros (20 bytes, body empty, wrong MD5): "
        "too short, passed through without checking the MD5.",
        [], result="passthrough", record=MAGIC + bytes(16))
    body_b = b[4:-16]
    add("truncated_record", "three_records_one_pk with its last 5 bytes cut: the last 16 "
        "bytes no longer are the MD5 of the rest, passed through.",
        [], result="passthrough", record=b[:-5], outer=("shard-key-7", None))
    add("truncated_protobuf_valid_md5", "three_records_one_pk's protobuf cut inside the "
        "last record, MD5 recomputed over the cut body: protobuf DecodeError, passed through "
        "(deaggregator.py:279-280). A cut on a field boundary would instead parse as fewer "
        "records.",
        [], result="passthrough", record=wrap(body_b[:-3]), outer=("shard-key-7", None))
    data, record = one_mib_record()
    case = {"name": "one_mib", "description": "(f) one user record whose aggregate is exactly "
            "1,048,576 bytes (the library's default and maximum max_size, accepted since the "
            "check is size > max). Not inline: rebuild with make_vectors.py --emit-1mib PATH. "
            "Partition key 'k'; data byte i = i % 251, 1,048,543 bytes (see record_layout). Kinesis counts the partition key "
            "in its 1 MiB limit, so this one is 1 byte over what PutRecord accepts.",
            "record_layout": " ".join(record[a:b].hex() for a, b in
                                      ((0, 4), (4, 7), (7, 11), (11, 13), (13, 17)))
            + " <data> <16-byte md5>",
            "outer_partition_key": ONE_MIB_PK, "outer_explicit_hash_key": None,
            "record_hex": None, "record_len": len(record),
            "record_head_hex": record[:16].hex(), "record_md5_trailer_hex": record[-16:].hex(),
            "record_sha256": hashlib.sha256(record).hexdigest(),
            "user_records": [{"partition_key": ONE_MIB_PK, "explicit_hash_key": None,
                              "data_hex": None, "data_len": len(data),
                              "data_pattern": "byte i = i % 251",
                              "data_sha256": hashlib.sha256(data).hexdigest()}],
            "library_result": "aggregated"}
    out, err = library_deaggregate(ONE_MIB_PK, record)
    assert not err and len(out) == 1 and base64.b64decode(out[0]["kinesis"]["data"]) == data
    cases.append(case)
    return cases


def render():
    return json.dumps(build_cases(), indent=1) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with vectors.json, write nothing")
    p.add_argument("--emit-1mib", metavar="PATH", help="write the 1 MiB record's bytes to PATH")
    args = p.parse_args()
    if args.emit_1mib:
        with open(args.emit_1mib, "wb") as f:
            f.write(one_mib_record()[1])
        return 0
    text = render()
    if args.check:
        with open(OUT) as f:
            same = f.read() == text
        print("vectors.json " + ("up to date" if same else "DIFFERS"), file=sys.stderr)
        return 0 if same else 1
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
