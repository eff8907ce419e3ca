"""A fault-injecting HTTP proxy between the AWS SDK and moto, for the tests (standard library only).

Forwards each HTTP/1.1 request to the upstream emulator and passes its response back, except for
the requests a rule picks, which get one of these faults instead:

  status-500    an HTTP 500 error in the service's format (not forwarded)
  status-503    an HTTP 503 error (S3: SlowDown) (not forwarded)
  throttle      the service's throttling error (Kinesis, DynamoDB: 400 ProvisionedThroughput...;
                S3: 503 SlowDown) (not forwarded)
  reset-before  the connection is reset before the request reaches moto
  reset-after   the request is applied by moto, then the connection is reset: the response is lost
  stall         no response for --stall-seconds, then a reset
  cut-body      the response's headers and half its body, then a reset

A rule is {"target": TEXT, "fault": KIND, "skip": N, "count": M}: of the requests whose
"METHOD PATH X-Amz-Target" contains TEXT, the first N pass, the next M get the fault (count
defaults to 1, skip to 0). Every rule counts every request it matches; where two pick one, the
first listed wins. Each fault injected is logged to --log as one JSON line.

usage: fault_proxy.py --upstream http://127.0.0.1:PORT --port-file FILE --rules JSON
                      [--log FILE] [--stall-seconds S]
"""

import argparse
import asyncio
import json
import os
import socket
import struct
import sys
import urllib.parse


class Rule:
    def __init__(self, spec: dict):
        self.target = spec["target"]
        self.fault = spec["fault"]
        self.skip = int(spec.get("skip", 0))
        self.count = int(spec.get("count", 1))
        self.seen = 0

    def picks(self, description: str) -> bool:
        if self.target not in description:
            return False
        self.seen += 1
        return self.skip < self.seen <= self.skip + self.count


class Proxy:
    def __init__(self, upstream: str, rules: list, log_path: str | None, stall: float):
        parsed = urllib.parse.urlsplit(upstream)
        self.host, self.port = parsed.hostname, parsed.port
        self.rules = [Rule(spec) for spec in rules]
        self.log_path = log_path
        self.stall = stall

    def fault_for(self, description: str) -> str | None:
        """Every rule counts the request; the first that picks it gives the fault."""
        picked = [rule.fault for rule in self.rules if rule.picks(description)]
        return picked[0] if picked else None

    def log(self, fault: str, description: str) -> None:
        if self.log_path:
            with open(self.log_path, "a") as out:
                out.write(json.dumps({"fault": fault, "request": description}) + "\n")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    request = await read_request(reader, writer)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                description = f"{request.method} {request.path} {request.headers.get('x-amz-target', '')}"
                fault = self.fault_for(description)
                if fault:
                    self.log(fault, description)
                if fault == "reset-before":
                    reset(writer)
                    return
                if fault in ("status-500", "status-503", "throttle"):
                    writer.write(error_response(fault, request))
                    await writer.drain()
                    continue
                if fault == "stall":
                    await asyncio.sleep(self.stall)
                    reset(writer)
                    return
                head, body = await self.forward(request)
                if fault == "reset-after":
                    reset(writer)
                    return
                if fault == "cut-body":
                    writer.write(head + body[: len(body) // 2])
                    await writer.drain()
                    reset(writer)
                    return
                writer.write(head + body)
                await writer.drain()
                if request.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, OSError):
            return
        finally:
            if not writer.is_closing():
                writer.close()

    async def forward(self, request: "Request") -> tuple[bytes, bytes]:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        try:
            upstream_writer.write(request.head_for_upstream() + request.body)
            await upstream_writer.drain()
            head = await upstream_reader.readuntil(b"\r\n\r\n")
            status_line, headers = parse_head(head)
            status = int(status_line.split()[1])
            if request.method == "HEAD" or status in (204, 304) or status < 200:
                body = b""
            elif "content-length" in headers:
                body = await upstream_reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                body = await read_chunked(upstream_reader)
            else:
                body = await upstream_reader.read()
            return response_head(status_line, head, len(body), request.method), body
        finally:
            upstream_writer.close()


class Request:
    def __init__(self, head: bytes, body: bytes):
        request_line, self.headers = parse_head(head)
        self.method, self.path, _ = request_line.split(" ", 2)
        self.head = head
        self.body = body

    def head_for_upstream(self) -> bytes:
        """The request head for a fresh upstream connection: closed after the response, without
        Expect (answered here) and with the body's length as read."""
        lines = self.head.decode("latin-1").split("\r\n")
        kept = [lines[0]] + [
            line
            for line in lines[1:]
            if line and line.split(":", 1)[0].strip().lower()
            not in ("connection", "expect", "transfer-encoding", "content-length")
        ]
        kept += [f"Content-Length: {len(self.body)}", "Connection: close"]
        return ("\r\n".join(kept) + "\r\n\r\n").encode("latin-1")


def parse_head(head: bytes) -> tuple[str, dict]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request:
    head = await reader.readuntil(b"\r\n\r\n")
    _, headers = parse_head(head)
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(head, body)


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body, decoded."""
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return body
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def response_head(status_line: str, head: bytes, length: int, method: str) -> bytes:
    """The upstream response head for the client: its length stated, the connection kept."""
    lines = head.decode("latin-1").split("\r\n")
    kept = [status_line] + [
        line
        for line in lines[1:]
        if line and line.split(":", 1)[0].strip().lower()
        not in ("connection", "transfer-encoding", "content-length", "keep-alive")
    ]
    if method != "HEAD":
        kept.append(f"Content-Length: {length}")
    else:
        kept += [line for line in lines[1:] if line.lower().startswith("content-length")]
    return ("\r\n".join(kept) + "\r\n\r\n").encode("latin-1")


def error_response(fault: str, request: Request) -> bytes:
    target = request.headers.get("x-amz-target", "")
    if target:
        namespace = "com.amazonaws.dynamodb.v20120810#" if target.startswith("DynamoDB") else ""
        status, code = {
            "status-500": (500, "InternalFailure"),
            "status-503": (503, "ServiceUnavailable"),
            "throttle": (400, namespace + "ProvisionedThroughputExceededException"),
        }[fault]
        body = json.dumps({"__type": code, "message": "injected by the fault proxy"}).encode()
        content_type = "application/x-amz-json-1.0" if namespace else "application/x-amz-json-1.1"
    else:
        status, code = {
            "status-500": (500, "InternalError"),
            "status-503": (503, "ServiceUnavailable"),
            "throttle": (503, "SlowDown"),
        }[fault]
        body = (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
            "<Message>injected by the fault proxy</Message></Error>"
        ).encode()
        content_type = "application/xml"
    reason = {400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"x-amzn-RequestId: fault-proxy\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def reset(writer: asyncio.StreamWriter) -> None:
    """Closes the connection with a TCP reset (no orderly shutdown)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--rules", default="[]")
    parser.add_argument("--log")
    parser.add_argument("--stall-seconds", type=float, default=10.0)
    args = parser.parse_args()
    proxy = Proxy(args.upstream, json.loads(args.rules), args.log, args.stall_seconds)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as out:
        out.write(str(port))
    os.replace(args.port_file + ".tmp", args.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
