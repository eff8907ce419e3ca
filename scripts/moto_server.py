"""Starts moto (a local AWS emulator) on 127.0.0.1, single-threaded, for the tests.

Single-threaded on purpose: in its default threaded mode moto acknowledges Kinesis writes and then
loses some of them. Picks a free port, writes it to --port-file once listening, serves until killed.

One fix to moto's speed, not to what it answers: moto 5.2.5 finds a Kinesis shard's first and last
sequence numbers by copying the keys of every record the shard holds, once per record put, so a
shard's writes slow down as it fills (quadratic; a month of trips would take days). Its records
are kept in insertion order, so the first and last keys are found directly.
"""

import argparse
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
