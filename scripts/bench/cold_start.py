"""Time from process start to first event handled, for a built function binary.

A minimal Lambda runtime API (the three calls a function makes: next invocation, response, error)
serves one event; the binary is started with the variables Lambda sets. Measured: start → first
`GET /next` (the cold start: settings, SDK clients, runtime), and start → response posted (the
first event handled, its AWS calls going to moto). Resources are created in moto first.

usage: cold_start.py BINARY producer|consumer [RUNS]   (moto at AWS_ENDPOINT_URL)
"""

import base64
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "testdata" / "yellow_tripdata_2021-01_head99.csv"
SUFFIX = f"{os.getpid()}-{int(time.time())}"
BUCKET, STREAM = f"cold-start-{SUFFIX}", f"cold-start-{SUFFIX}"
TABLES = {
    "TAXISTREAM_TABLE_HIGH_VALUE_TRIPS": f"hv-{SUFFIX}",
    "TAXISTREAM_TABLE_TRIP_DURATION_ANALYSIS": f"du-{SUFFIX}",
    "TAXISTREAM_TABLE_DISTANCE_TO_FARE_RATIO": f"ra-{SUFFIX}",
}


def resources() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("s3").upload_file(str(FILE), BUCKET, "incoming/head.csv")
    boto3.client("kinesis").create_stream(StreamName=STREAM, ShardCount=1)
    for table in TABLES.values():
        boto3.client("dynamodb").create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "trip_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "trip_id", "KeyType": "HASH"}])


def event(role: str) -> dict:
    fixtures = ROOT / "crates/taxistream-e2e/tests/fixtures"
    if role == "producer":
        event = json.loads((fixtures / "s3_put_event.json").read_text())
        event["Records"][0]["s3"]["bucket"]["name"] = BUCKET
        event["Records"][0]["s3"]["object"]["key"] = "incoming/head.csv"
        return event
    shape = json.loads((fixtures / "kinesis_event.json").read_text())["Records"][0]
    records = []
    for number, line in enumerate(FILE.read_text().splitlines()[1:], start=1):
        header = FILE.read_text().splitlines()[0].split(",")
        row = dict(zip([h.lower() for h in header], line.split(",")))
        data = json.dumps({"pickup_datetime": row["tpep_pickup_datetime"],
                           "dropoff_datetime": row["tpep_dropoff_datetime"],
                           "trip_distance": row["trip_distance"], "fare_amount": row["fare_amount"],
                           "total_amount": row["total_amount"]})
        record = json.loads(json.dumps(shape))
        record["kinesis"].update(partitionKey=str(number), sequenceNumber=str(number),
                                 data=base64.b64encode(data.encode()).decode())
        records.append(record)
    return {"Records": records}


def run_once(binary: str, payload: bytes) -> tuple[float, float]:
    times: dict[str, float] = {}

    class Runtime(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            if "next" not in times:
                times["next"] = time.perf_counter()
                self.send_response(200)
                for name, value in (("Lambda-Runtime-Aws-Request-Id", "req-1"),
                                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000)),
                                    ("Lambda-Runtime-Invoked-Function-Arn",
                                     "arn:aws:lambda:us-east-1:123456789012:function:f"),
                                    ("Content-Type", "application/json")):
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            else:  # the second /next: park until the process is stopped
                time.sleep(30)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            times["done"] = time.perf_counter()
            times["ok"] = self.path.endswith("/response")
            times["body"] = body
            self.send_response(202)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME="f", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", TAXISTREAM_STREAM=STREAM,
               TAXISTREAM_REJECTS_BUCKET=BUCKET, RUST_LOG="warn", **TABLES)
    start = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while "done" not in times and time.perf_counter() - start < 60:
        time.sleep(0.001)
    process.kill()
    process.wait()
    server.shutdown()
    if not times.get("ok"):
        sys.exit(f"{binary}: no response: {times.get('body')}")
    return times["next"] - start, times["done"] - start


def main() -> None:
    binary, role = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    resources()
    payload = json.dumps(event(role)).encode()
    results = [run_once(binary, payload) for _ in range(runs)]
    init = statistics.median(r[0] for r in results) * 1000
    first = statistics.median(r[1] for r in results) * 1000
    size = os.path.getsize(binary)
    print(f"{role}: binary {size / 1e6:.1f} MB; start → ready for events {init:.0f} ms; "
          f"start → first event handled {first:.0f} ms (median of {runs})")


if __name__ == "__main__":
    main()
