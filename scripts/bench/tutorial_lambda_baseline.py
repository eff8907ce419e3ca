"""The original tutorial's Lambda approach, against moto, for comparison with taxistream's handlers.

Producer: csv.DictReader over the object and one `kinesis.put_record` per row (the tutorial's
lambda-kinesis-producer.py). Consumer: per record, json.loads, the analyses, and one
`table.put_item` per item (its lambda-kinesis-consumer.py). The per-row logic is
../shared/bench/seed_baseline.py's `produce` and `consume` (the tutorial's casts and the contract's
rules), so only the AWS calls differ from the local baseline.

usage: tutorial_lambda_baseline.py FILE.csv
prints the requests made, the wall time and this process's CPU time per 1,000 trips, per role.
"""

import base64
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "shared" / "bench"))
import seed_baseline  # noqa: E402  (the tutorial's per-row logic)

SUFFIX = f"{os.getpid()}-{int(time.time())}"
STREAM = f"tutorial-{SUFFIX}"
TABLES = ["high_value_trips", "trip_duration_analysis", "distance_to_fare_ratio"]


def setup():
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    dynamodb = boto3.resource("dynamodb")
    tables = []
    for name in TABLES:
        tables.append(
            dynamodb.create_table(
                TableName=f"{name}-{SUFFIX}",
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "trip_id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "trip_id", "KeyType": "HASH"}],
            )
        )
    return kinesis, tables


def producer(kinesis, path):
    """The tutorial's producer: one put_record per row."""
    calls = 0
    with open(path, newline="") as source:
        for row in seed_baseline.csv.DictReader(source):
            data = seed_baseline.produce(row)
            kinesis.put_record(StreamName=STREAM, Data=data, PartitionKey=str(hash(data)))
            calls += 1
    return calls


def read_stream(kinesis):
    records = []
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            if not page["Records"]:
                break
            records.extend(page["Records"])
            iterator = page.get("NextShardIterator")
    # As Lambda delivers them: base64 in the event.
    return [{"kinesis": {"data": base64.b64encode(r["Data"]).decode()}} for r in records]


def consumer(tables, records):
    """The tutorial's consumer: per record, the analyses, then one put_item per item."""
    calls = 0
    for start in range(0, len(records), 100):
        for record in records[start : start + 100]:
            data = base64.b64decode(record["kinesis"]["data"]).decode()
            hv, du, ra = [], [], []
            seed_baseline.consume(data, hv, du, ra)
            for table, rows, names in (
                (tables[0], hv, ("total_amount", "fare_amount")),
                (tables[1], du, ("duration_minutes", "duration_category")),
                (tables[2], ra, ("fare_per_mile", "profitability")),
            ):
                for trip_id, first, second in rows:
                    value = Decimal(second) if names[1] == "fare_amount" else second
                    table.put_item(Item={"trip_id": trip_id, names[0]: Decimal(first), names[1]: value})
                    calls += 1
    return calls


def measure(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main():
    path = sys.argv[1]
    kinesis, tables = setup()
    puts, produce_wall, produce_cpu = measure(lambda: producer(kinesis, path))
    records = read_stream(kinesis)
    writes, consume_wall, consume_cpu = measure(lambda: consumer(tables, records))
    trips = len(records)
    print(f"file: {path} ({trips} records on the stream, {writes} items)")
    print("| role | requests | per 10,000 trips | wall s | trips/s | CPU ms per 1,000 trips |")
    print("|---|---|---:|---:|---:|---:|")
    for role, calls, wall, cpu in (
        ("tutorial producer (put_record per row)", f"PutRecord: {puts}", produce_wall, produce_cpu),
        ("tutorial consumer (put_item per item)", f"PutItem: {writes}", consume_wall, consume_cpu),
    ):
        count = int(calls.split(": ")[1])
        print(
            f"| {role} | {calls} | {count * 10000 / trips:.1f} | {wall:.2f} | {trips / wall:.0f} "
            f"| {cpu * 1e6 / trips:.1f} |"
        )


if __name__ == "__main__":
    main()
