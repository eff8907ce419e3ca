"""Starts moto (a local AWS emulator) on 127.0.0.1, single-threaded, for the tests.

Single-threaded on purpose: in its default threaded mode moto acknowledges Kinesis writes and then
loses some of them. Picks a free port, writes it to --port-file once listening, serves until killed.
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
