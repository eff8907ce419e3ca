"""Starts moto (a local AWS emulator) on 127.0.0.1, single-threaded, for the tests.

Single-threaded on purpose: in its default threaded mode moto acknowledges Kinesis writes and then
loses some of them. Picks a free port, writes it to --port-file once listening, serves until killed.

DynamoDB's BatchWriteItem limits, which moto does not check, are enforced here as DynamoDB does:
at most 25 requests per call, no item over 400 KB (DynamoDB's measure), and no key twice in one
table, else the whole call fails with a ValidationException.

One fix to moto's speed, not to what it answers: moto 5.2.5 finds a Kinesis shard's first and last
sequence numbers by copying the keys of every record the shard holds, once per record put, so a
shard's writes slow down as it fills (quadratic; a month of trips would take days). Its records
are kept in insertion order, so the first and last keys are found directly.
"""

import argparse
import json
import os
import signal
import socket
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def fix_kinesis_sequence_lookups() -> None:
    """The first and last sequence numbers of a shard in constant time (the same answers)."""
    from moto.kinesis.models import Shard

    Shard.get_min_sequence_number = lambda shard: next(iter(shard.records), 0)
    Shard.get_max_sequence_number = lambda shard: next(reversed(shard.records), 0)


MAX_BATCH_WRITE_REQUESTS = 25
MAX_ITEM_BYTES = 400 * 1024


def attribute_value_size(value: dict) -> int:
    """DynamoDB's measure of one attribute value (strings: UTF-8 bytes; numbers: a byte per two
    significant digits, plus one)."""
    (kind, content), = value.items()
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        digits = "".join(ch for ch in content if ch.isdigit()).strip("0")
        return (max(len(digits), 1) + 1) // 2 + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_value_size({kind[0]: member}) for member in content)
    if kind == "L":
        return 3 + sum(1 + attribute_value_size(member) for member in content)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + 1 + attribute_value_size(v) for k, v in content.items())
    return len(str(content))


def item_size(item: dict) -> int:
    """DynamoDB's measure of an item: each attribute's name and value."""
    return sum(len(name.encode("utf-8")) + attribute_value_size(value) for name, value in item.items())


def enforce_batch_write_limits() -> None:
    """BatchWriteItem refuses more than 25 requests, or an item over 400 KB, as DynamoDB does."""
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.batch_write_item

    def batch_write_item(handler):
        requests = [r for rs in handler.body.get("RequestItems", {}).values() for r in rs]
        if len(requests) > MAX_BATCH_WRITE_REQUESTS:
            raise MockValidationException(
                "1 validation error detected: Value at 'requestItems' failed to satisfy "
                "constraint: Map value must satisfy constraint: [Member must have length less "
                f"than or equal to {MAX_BATCH_WRITE_REQUESTS}]"
            )
        for request in requests:
            item = request.get("PutRequest", {}).get("Item")
            if item is not None and item_size(item) > MAX_ITEM_BYTES:
                raise MockValidationException("Item size has exceeded the maximum allowed size")
        # One key twice in one table (put or delete) is refused; the same key in two tables is
        # not (moto compares keys across tables, and whole put items rather than their keys).
        for table_name, table_requests in handler.body.get("RequestItems", {}).items():
            table = handler.dynamodb_backend.get_table(table_name)
            names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            seen = set()
            for request in table_requests:
                attributes = request.get("PutRequest", {}).get("Item") or request.get(
                    "DeleteRequest", {}
                ).get("Key", {})
                key = json.dumps([attributes.get(name) for name in names], sort_keys=True)
                if key in seen:
                    raise MockValidationException("Provided list of item keys contains duplicates")
                seen.add(key)
        handler._contains_duplicates = lambda keys: False
        return original(handler)

    DynamoHandler.batch_write_item = batch_write_item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", required=True, help="where to write the chosen port")
    parser.add_argument("--port", type=int, default=0, help="port to use (0: any free one)")
    args = parser.parse_args()

    port = args.port
    if port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    os.environ["MOTO_PORT"] = str(port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    fix_kinesis_sequence_lookups()
    enforce_batch_write_limits()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler
    )
    # Written only once the socket listens, so whoever waits on the file can connect at once.
    with open(args.port_file + ".tmp", "w") as out:
        out.write(str(port))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
