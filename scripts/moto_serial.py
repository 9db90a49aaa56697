"""moto's server, answering one request at a time.

moto's own `moto_server` is threaded, and its DynamoDB checks a TransactWriteItems' conditions
and applies its writes without a lock: two concurrent transactions on the same item can both
pass their conditions, which DynamoDB (serialisable transactions) never allows. Serving requests
one at a time gives the tests DynamoDB's guarantee, so the concurrency tests exercise Gatehouse,
not a race inside the emulator.

moto also keeps a reference to every DynamoDB item and table object it ever made (including the
copies it takes for each transaction) so that `/moto-api/data.json` can list them; over a test run
that grows to hundreds of thousands of objects and makes every read of sent mail (which the tests
take from data.json) slow. DynamoDB objects are not tracked here; the tables themselves are
unaffected. Usage: python moto_serial.py HOST PORT
"""

import signal
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class _Untracked(list):
    """A list that keeps nothing."""

    def append(self, _item: object) -> None:
        pass


def stop_tracking_dynamodb_objects() -> None:
    import moto.dynamodb.models  # noqa: F401  (registers the DynamoDB model classes)
    from moto.core.model_instances import model_data

    for model in model_data["dynamodb"].values():
        model.instances_tracked = _Untracked()  # type: ignore[attr-defined]


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stop_tracking_dynamodb_objects()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
