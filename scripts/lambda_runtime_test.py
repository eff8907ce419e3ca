"""The built functions under the real Lambda runtime contract, against moto.

`cargo lambda watch` serves the Lambda runtime API and runs each function binary as Lambda would;
`cargo lambda invoke` sends it an S3 event, then the continuation the producer queued on its work
queue (a real SQS queue in moto) as an SQS event, as the template's event source mapping would
(TAXISTREAM_MAX_WORK_SECONDS=0 makes each invocation stop after its first PutRecords call of 500
records: one record per trip here, TAXISTREAM_AGGREGATION=none; the moto tests cover KPL
aggregation), and
then a Kinesis event built from what the producer put on the stream. The results are checked in
moto: the trip counts of the invocations' reports and the items per table of the golden figures
of the file. Run by scripts/test.sh, with moto started and AWS_ENDPOINT_URL set.
"""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
FILE = "yellow_tripdata_2020-01_head499_tail500.csv"  # 999 rows: two invocations of 500
KEY = "incoming/runtime check+1.csv"
SUFFIX = f"{os.getpid()}-{int(time.time())}"
BUCKET = f"runtime-test-{SUFFIX}"
STREAM = f"taxi_trips-runtime-{SUFFIX}"
WORK_QUEUE = f"work-runtime-{SUFFIX}"
TABLES = {
    "TAXISTREAM_TABLE_HIGH_VALUE_TRIPS": f"high_value_trips-{SUFFIX}",
    "TAXISTREAM_TABLE_TRIP_DURATION_ANALYSIS": f"trip_duration_analysis-{SUFFIX}",
    "TAXISTREAM_TABLE_DISTANCE_TO_FARE_RATIO": f"distance_to_fare_ratio-{SUFFIX}",
}
TIMEOUT = 600  # the first invocation of each function builds it


def fail(message: str) -> None:
    print(f"lambda runtime test: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def create_resources() -> str:
    """Creates the bucket, stream, tables and work queue; returns the queue's URL."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("s3").upload_file(str(ROOT / "testdata" / FILE), BUCKET, KEY)
    boto3.client("kinesis").create_stream(StreamName=STREAM, ShardCount=1)
    dynamodb = boto3.client("dynamodb")
    for table in TABLES.values():
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "trip_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "trip_id", "KeyType": "HASH"}],
        )
    return boto3.client("sqs").create_queue(QueueName=WORK_QUEUE)["QueueUrl"]


def work_events(queue_url: str):
    """Each message on the work queue as the SQS event Lambda delivers, and its receipt handle."""
    sqs = boto3.client("sqs")
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", [])
        if not messages:
            return
        message = messages[0]
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{WORK_QUEUE}",
            "awsRegion": "us-east-1",
        }
        yield {"Records": [record]}, message["ReceiptHandle"]


def reported_accounting() -> dict:
    """The invocations' reports of the object, summed."""
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"reports/{KEY}/").get("Contents", [])
    totals = {"rows_read": 0, "trips": 0, "duplicates": 0, "rejected": 0}
    for item in listed:
        if item["Key"].endswith(".json"):
            report = json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
            for key in totals:
                totals[key] += report["accounting"][key]
    return totals


def invoke(port: int, function: str, event: dict, workdir: Path) -> dict:
    data_file = workdir / f"{function}-event.json"
    data_file.write_text(json.dumps(event))
    result = subprocess.run(
        ["cargo", "lambda", "invoke", function, "--invoke-address", "127.0.0.1", "--invoke-port", str(port),
         "--data-file", str(data_file), "--output-format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
    )
    if result.returncode != 0:
        fail(f"{function}: {result.stderr or result.stdout}")
    return json.loads(result.stdout)


def s3_event() -> dict:
    fixture = ROOT / "crates/taxistream-e2e/tests/fixtures/s3_put_event.json"
    event = json.loads(fixture.read_text())
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = BUCKET
    record["bucket"]["arn"] = f"arn:aws:s3:::{BUCKET}"
    record["object"]["key"] = urllib.parse.quote_plus(KEY, safe="/")
    # The version uploaded, as S3 names it in its events (the producer reads only that one).
    etag = boto3.client("s3").head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    record["object"]["eTag"] = etag.strip('"')
    return event


def kinesis_event() -> dict:
    kinesis = boto3.client("kinesis")
    shard = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=10000)["Records"]
    fixture = ROOT / "crates/taxistream-e2e/tests/fixtures/kinesis_event.json"
    shape = json.loads(fixture.read_text())["Records"][0]
    event_records = []
    for record in records:
        event_record = json.loads(json.dumps(shape))
        event_record["kinesis"]["partitionKey"] = record["PartitionKey"]
        event_record["kinesis"]["sequenceNumber"] = record["SequenceNumber"]
        event_record["kinesis"]["data"] = base64.b64encode(record["Data"]).decode()
        event_record["eventID"] = f"{shard}:{record['SequenceNumber']}"
        event_records.append(event_record)
    return {"Records": event_records}


def count_items(table: str) -> int:
    return boto3.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


def main() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1:"):
        fail(f"AWS_ENDPOINT_URL={endpoint!r} is not a local moto; run scripts/test.sh")
    golden = json.loads((ROOT / "testdata/golden" / f"{FILE}.json").read_text())
    queue_url = create_resources()
    port = free_port()
    workdir = ROOT / "target/lambda-runtime-test"
    workdir.mkdir(parents=True, exist_ok=True)
    # Logs as Lambda's advanced logging controls ask: JSON lines, at INFO and above.
    env = dict(os.environ, TAXISTREAM_STREAM=STREAM, TAXISTREAM_REJECTS_BUCKET=BUCKET,
               TAXISTREAM_WORK_QUEUE_URL=queue_url, TAXISTREAM_MAX_WORK_SECONDS="0",
               TAXISTREAM_AGGREGATION="none",
               AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="INFO", **TABLES)
    log = open(workdir / "watch.log", "w")
    watch = subprocess.Popen(
        ["cargo", "lambda", "watch", "--ignore-changes", "--invoke-address", "127.0.0.1",
         "--invoke-port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if time.time() > deadline or watch.poll() is not None:
                fail(f"cargo lambda watch did not start; see {log.name}")
            time.sleep(0.2)

        produced = invoke(port, "lambda-kinesis-producer", s3_event(), workdir)
        if produced["objects"][0]["source"] != f"s3://{BUCKET}/{KEY}":
            fail(f"producer read {produced['objects'][0]['source']}")
        if produced["objects"][0]["finished"]:
            fail(f"the first invocation did not stop for a continuation: {produced}")
        continuations = 0
        for event, receipt in work_events(queue_url):
            response = invoke(port, "lambda-kinesis-producer", event, workdir)
            if response != {"batchItemFailures": []}:
                fail(f"continuation: {response}")
            boto3.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
            continuations += 1
        if continuations != 1:
            fail(f"{continuations} continuations, expected 1 (999 rows, 500 per invocation)")
        accounting = reported_accounting()
        for key in ("rows_read", "trips", "duplicates", "rejected"):
            if accounting[key] != golden[key]:
                fail(f"producer {key}: {accounting[key]} != golden {golden[key]}")

        consumed = invoke(port, "lambda-kinesis-consumer", kinesis_event(), workdir)
        if consumed != {"batchItemFailures": []}:
            fail(f"consumer response: {consumed}")
        for variable, table in TABLES.items():
            name = table.rsplit("-", 2)[0]
            if count_items(table) != golden["items"][name]:
                fail(f"{name}: {count_items(table)} items != golden {golden['items'][name]}")
        log.flush()
        logged = [json.loads(line) for line in open(log.name) if line.startswith("{")]
        if not any(f"records, {golden['trips']} trips" in json.dumps(line) for line in logged):
            fail(f"no JSON log line says the batch was consumed; see {log.name}")
        if not any("continued in a new invocation" in json.dumps(line) for line in logged):
            fail(f"no JSON log line says the object was continued; see {log.name}")
        print(f"lambda runtime test: passed (producer, its continuation and consumer under cargo "
              f"lambda watch, {accounting['trips']} trips, items {golden['items']})")
    finally:
        os.killpg(watch.pid, signal.SIGTERM)
        watch.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
