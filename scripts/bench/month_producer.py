"""A month-size object through the producer function, invocation by invocation, against moto.

The built `lambda-kinesis-producer` binary is started once per invocation, as Lambda would start
a fresh instance, behind a minimal Lambda runtime API that serves one event with the template's
deadline (900 s) and memory (1024 MB). The first event is the S3 upload's; every part and
continuation message the producer queues is then received from the work queue and served as the
SQS event Lambda delivers, until the queue is empty. Each process's wall time, CPU time and peak
RSS come from the kernel (`wait4`); its records come from its own report object.

Prints one Markdown row per invocation, then the totals, then `taxistream status` of the object.

usage: month_producer.py PRODUCER_BINARY TAXISTREAM_BINARY FILE [SHARDS] [PART_BYTES]
       (moto at AWS_ENDPOINT_URL)
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = f"{os.getpid()}-{int(time.time())}"
BUCKET, STREAM, QUEUE = f"month-{SUFFIX}", f"month-{SUFFIX}", f"month-work-{SUFFIX}"
REPORTS = "reports/"
TIMEOUT_S, MEMORY_MB = 900, 1024  # template.yaml's ProducerFunction


def create_resources(path: Path, key: str, shards: int) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("s3").upload_file(str(path), BUCKET, key)
    boto3.client("kinesis").create_stream(StreamName=STREAM, ShardCount=shards)
    # As template.yaml: 6 x the function timeout.
    return boto3.client("sqs").create_queue(
        QueueName=QUEUE, Attributes={"VisibilityTimeout": str(6 * TIMEOUT_S)})["QueueUrl"]


def s3_event(key: str, size: int) -> dict:
    fixture = ROOT / "crates/taxistream-e2e/tests/fixtures/s3_put_event.json"
    event = json.loads(fixture.read_text())
    event["Records"][0]["s3"]["bucket"]["name"] = BUCKET
    # The version uploaded, as S3 names it in its events (the producer reads only that one).
    etag = boto3.client("s3").head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    event["Records"][0]["s3"]["object"].update(key=key, size=size, eTag=etag)
    return event


def next_work(queue_url: str):
    """The next work-queue message as the SQS event Lambda delivers, with its receipt handle."""
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", [])
    if not messages:
        return None
    message = messages[0]
    record = {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"], "md5OfBody": message["MD5OfBody"],
        "attributes": {"ApproximateReceiveCount": "1",
                       "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}", "awsRegion": "us-east-1",
    }
    return {"Records": [record]}, message["ReceiptHandle"]


def invoke(binary: str, event: dict, env: dict) -> dict:
    """Runs one invocation in a fresh process; its response, wall and CPU seconds, peak RSS."""
    payload = json.dumps(event).encode()
    done = threading.Event()
    result: dict = {}

    class Runtime(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            if "served" in result:  # the second /next: park until the process is stopped
                done.wait()
                return
            result["served"] = True
            self.send_response(200)
            deadline = int(time.time() * 1000) + TIMEOUT_S * 1000
            for name, value in (("Lambda-Runtime-Aws-Request-Id", "req-1"),
                                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                                ("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:producer"),
                                ("Content-Type", "application/json")):
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            result.update(ok=self.path.endswith("/response"), body=body.decode(errors="replace"),
                          wall=time.perf_counter() - result["start"])
            self.send_response(202)
            self.end_headers()
            done.set()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    result["start"] = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                               stderr=open(env["MONTH_LOG"], "ab"))
    finished = done.wait(TIMEOUT_S + 60)
    process.kill()
    _, _, usage = os.wait4(process.pid, 0)
    server.shutdown()
    if not finished or not result.get("ok"):
        sys.exit(f"invocation failed: {result.get('body', 'no response')} (log: {env['MONTH_LOG']})")
    result.update(cpu=usage.ru_utime + usage.ru_stime, peak_mib=usage.ru_maxrss / 1024)
    return result


def describe(work: dict) -> str:
    """A work message in a few words: which part, from where."""
    if work.get("csv_part"):
        part = work["csv_part"]
        end = f"{part['end']:,}" if part.get("end") else "the end"
        return f"CSV part, bytes {part['start']:,}–{end}, after line {work['after_line']:,}"
    if work.get("through_line"):
        return f"Parquet rows {work['after_line'] + 1:,}–{work['through_line']:,}"
    return f"work message: from row {work['after_line'] + 1:,} to the end"


def report_keys(key: str) -> set[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=f"{REPORTS}{key}/")
    return {item["Key"] for page in pages for item in page.get("Contents", [])
            if item["Key"].endswith(".json")}


def main() -> None:
    producer, cli, file = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    shards = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    part_bytes = sys.argv[5] if len(sys.argv) > 5 else ""
    key = f"incoming/{file.name}"
    queue_url = create_resources(file, key, shards)
    env = dict(os.environ, AWS_LAMBDA_FUNCTION_NAME="producer",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(MEMORY_MB), AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               TAXISTREAM_STREAM=STREAM, TAXISTREAM_REJECTS_BUCKET=BUCKET,
               TAXISTREAM_REPORTS_PREFIX=REPORTS, TAXISTREAM_WORK_QUEUE_URL=queue_url,
               RUST_LOG="info", MONTH_LOG=os.environ.get("MONTH_LOG", "/dev/null"))
    if part_bytes:
        env["TAXISTREAM_PART_BYTES"] = part_bytes
    print(f"{file.name}: {file.stat().st_size / 2**20:.1f} MiB, {shards} shards, "
          f"part bytes {part_bytes or 'default'}\n")
    print("| # | event | wall s | records | records/s | CPU s | CPU µs/record | peak RSS MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    event, receipt, kind, number = s3_event(key, file.stat().st_size), None, "S3 upload", 0
    totals = {"wall": 0.0, "cpu": 0.0, "records": 0, "peak": 0.0}
    started = time.perf_counter()
    while event is not None:
        number += 1
        before = report_keys(key)
        result = invoke(producer, event, env)
        if receipt is not None:
            if json.loads(result["body"]).get("batchItemFailures"):
                sys.exit(f"invocation {number} reported a failed message: {result['body']}")
            boto3.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
        records = 0
        for new in report_keys(key) - before:
            report = json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=new)["Body"].read())
            records += report["accounting"]["rows_read"] - report["accounting"]["rejected"]
        rate = records / result["wall"] if result["wall"] else 0
        per_record = result["cpu"] / records * 1e6 if records else 0
        print(f"| {number} | {kind} | {result['wall']:.1f} | {records:,} | {rate:,.0f} | "
              f"{result['cpu']:.1f} | {per_record:.1f} | {result['peak_mib']:.0f} |", flush=True)
        totals["wall"] += result["wall"]
        totals["cpu"] += result["cpu"]
        totals["records"] += records
        totals["peak"] = max(totals["peak"], result["peak_mib"])
        work = next_work(queue_url)
        event, receipt = work if work else (None, None)
        kind = describe(json.loads(event["Records"][0]["body"])) if event else ""
    elapsed = time.perf_counter() - started
    print(f"\n{number} invocations, {totals['records']:,} records in {totals['wall']:.0f} s of "
          f"invocations ({elapsed:.0f} s in all), {totals['cpu']:.1f} CPU s "
          f"({totals['cpu'] / max(totals['records'], 1) * 1e6:.1f} µs per record), "
          f"largest peak RSS {totals['peak']:.0f} MiB\n")
    status = subprocess.run([cli, "status", f"s3://{BUCKET}/{key}", "--reports-prefix", REPORTS],
                            env=env, capture_output=True, text=True)
    print(status.stdout + status.stderr)
    if status.returncode != 0:
        sys.exit(f"taxistream status exited with {status.returncode}")


if __name__ == "__main__":
    main()
