#!/usr/bin/env python3
"""KPL aggregation interop CLI: the awslabs reference implementation as an oracle.

Used to check a Rust encoder/decoder of the Kinesis Producer Library (KPL)
aggregated record format against the reference Python library, by piping
JSON Lines through it. Pinned: aws-kinesis-agg==1.2.3 (it also needs
protobuf and six; see requirements.txt next to this file). Python 3.11.

    python3 -m venv .venv-kpl && .venv-kpl/bin/pip install -r scripts/kpl/requirements.txt
    .venv-kpl/bin/python scripts/kpl/kpl_interop.py aggregate < users.jsonl > aggs.jsonl
    .venv-kpl/bin/python scripts/kpl/kpl_interop.py deaggregate < aggs.jsonl

Subcommands (JSON Lines on stdin -> JSON Lines on stdout; blank lines skipped):

  deaggregate   in:  {"partition_key": str, "data": base64, "sequence_number": str|null}
                out: {"partition_key", "explicit_hash_key", "data", "sequence_number",
                      "sub_sequence_number", "aggregated"} one line per user record.
                Uses aws_kinesis_agg.deaggregator.iter_deaggregate_records on
                Lambda-style event records. As in the library, a record that is
                not a valid aggregate (no magic, <= 20 bytes, bad MD5, protobuf
                DecodeError) is passed through once with aggregated=false.
  aggregate     in:  {"partition_key": str, "explicit_hash_key": str|null, "data": base64}
                out: {"partition_key", "explicit_hash_key", "data"} per aggregated record,
                via aws_kinesis_agg.aggregator.RecordAggregator(max_size=--max-bytes).
                --bytes-keys hands keys to the library as bytes (its size
                accounting is then exact; with str keys it over-counts repeated
                partition keys, see FORMAT.md); the bytes produced differ only
                in where records are split.
  corrupt-md5   in/out: aggregate's output lines, last byte of data XOR 0xFF.

Exit status: 0 ok; 2 bad input or usage (message on stderr); 3 the library
logged a deaggregation error (it drops the rest of that aggregate and prints
to stderr; this tool forwards that text and finishes the stream first).
"""

import argparse
import base64
import binascii
import contextlib
import io
import json
import sys

from aws_kinesis_agg import MAX_BYTES_PER_RECORD
from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import iter_deaggregate_records


class InputError(Exception):
    pass


def _lines(stream):
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"line {number}: not JSON: {e}") from None
        if not isinstance(obj, dict):
            raise InputError(f"line {number}: expected a JSON object")
        yield number, obj


def _field(obj, number, name, kind, nullable=False, required=True):
    if name not in obj:
        if required:
            raise InputError(f"line {number}: missing field {name!r}")
        return None
    value = obj[name]
    if value is None and nullable:
        return None
    if not isinstance(value, kind):
        raise InputError(f"line {number}: field {name!r} must be {kind.__name__}"
                         + (" or null" if nullable else ""))
    return value


def _b64(obj, number, name="data"):
    text = _field(obj, number, name, str)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InputError(f"line {number}: field {name!r} is not base64: {e}") from None


def _text(value):
    """Library values may be str or bytes (protobuf returns bytes for a
    proto2 string that is not valid UTF-8)."""
    if value is None or isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        print(f"warning: key {value!r} is not UTF-8; replaced", file=sys.stderr)
        return value.decode("utf-8", "replace")


def _emit(out, obj):
    out.write(json.dumps(obj, separators=(",", ":")) + "\n")


def cmd_deaggregate(args, inp, out):
    library_errors = False
    for number, obj in _lines(inp):
        pk = _field(obj, number, "partition_key", str)
        data = _b64(obj, number)
        seq = _field(obj, number, "sequence_number", str, nullable=True, required=False)
        event = {"kinesis": {
            "kinesisSchemaVersion": "1.0",
            "sequenceNumber": seq,
            "approximateArrivalTimestamp": None,
            "partitionKey": pk,
            "data": base64.b64encode(data).decode("ascii"),
        }}
        captured = io.StringIO()
        with contextlib.redirect_stderr(captured):
            user_records = list(iter_deaggregate_records([event]))
        if captured.getvalue():
            library_errors = True
            sys.stderr.write(f"line {number}: library reported:\n{captured.getvalue()}")
        for r in user_records:
            k = r["kinesis"]
            aggregated = bool(k.get("aggregated", False))
            payload = k["data"]
            if isinstance(payload, bytes):
                payload = payload.decode("ascii")
            _emit(out, {
                "partition_key": _text(k["partitionKey"]),
                "explicit_hash_key": _text(k.get("explicitHashKey")),
                "data": payload,
                "sequence_number": k.get("sequenceNumber"),
                "sub_sequence_number": k.get("subSequenceNumber") if aggregated else None,
                "aggregated": aggregated,
            })
    return 3 if library_errors else 0


def _emit_agg(out, agg_record):
    pk, ehk, data = agg_record.get_contents()
    _emit(out, {
        "partition_key": _text(pk),
        "explicit_hash_key": _text(ehk),
        "data": base64.b64encode(data).decode("ascii"),
    })


def cmd_aggregate(args, inp, out):
    try:
        aggregator = RecordAggregator(max_size=args.max_bytes)
    except ValueError as e:
        raise InputError(str(e)) from None
    for number, obj in _lines(inp):
        pk = _field(obj, number, "partition_key", str)
        ehk = _field(obj, number, "explicit_hash_key", str, nullable=True, required=False)
        data = _b64(obj, number)
        if args.bytes_keys:
            pk = pk.encode("utf-8")
            ehk = None if ehk is None else ehk.encode("utf-8")
        try:
            full = aggregator.add_user_record(pk, data, ehk)
        except ValueError as e:
            raise InputError(f"line {number}: {e}") from None
        if aggregator.get_num_user_records() == 0:
            # The library's too-big check leaves out the 20 bytes of magic and
            # MD5: such a record is silently dropped and an empty aggregate
            # returned (aggregator.py lines 425-428, 239). Refuse instead.
            raise InputError(f"line {number}: record does not fit in --max-bytes "
                             f"{args.max_bytes} with the 20 bytes of magic and MD5")
        if full is not None:
            _emit_agg(out, full)
    last = aggregator.clear_and_get()
    if last is not None:
        _emit_agg(out, last)
    return 0


def cmd_corrupt_md5(args, inp, out):
    for number, obj in _lines(inp):
        data = bytearray(_b64(obj, number))
        if not data:
            raise InputError(f"line {number}: empty data, nothing to corrupt")
        data[-1] ^= 0xFF
        obj = dict(obj)
        obj["data"] = base64.b64encode(bytes(data)).decode("ascii")
        _emit(out, obj)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("deaggregate", help="Kinesis records -> user records")
    agg = sub.add_parser("aggregate", help="user records -> aggregated Kinesis records")
    agg.add_argument("--max-bytes", type=int, default=MAX_BYTES_PER_RECORD,
                     help=f"max aggregated record size (default and max {MAX_BYTES_PER_RECORD})")
    agg.add_argument("--bytes-keys", action="store_true",
                     help="pass keys to the library as bytes (exact size accounting)")
    sub.add_parser("corrupt-md5", help="flip the last byte of each record's data")
    args = parser.parse_args(argv)
    handler = {"deaggregate": cmd_deaggregate, "aggregate": cmd_aggregate,
               "corrupt-md5": cmd_corrupt_md5}[args.command]
    try:
        return handler(args, sys.stdin, sys.stdout)
    except InputError as e:
        print(f"kpl_interop {args.command}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
