"""moto's server, answering one request at a time.

moto's own `moto_server` is threaded, and its DynamoDB checks a TransactWriteItems' conditions
and applies its writes without a lock: two concurrent transactions on the same item can both
pass their conditions, which DynamoDB (serialisable transactions) never allows. Serving requests
one at a time gives the tests DynamoDB's guarantee, so the concurrency tests exercise Gatehouse,
not a race inside the emulator. Usage: python moto_serial.py HOST PORT
"""

import signal
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
