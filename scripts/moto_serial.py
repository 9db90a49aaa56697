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
unaffected.

moto's TransactWriteItems deep-copies the table once per item of the transaction (to roll back
on failure): a 97-item transaction on a table of 3,000 items took 10 s. Here each table is copied
once per transaction, which rolls back just the same. Usage: python moto_serial.py HOST PORT
"""

import copy
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


class _CopyOncePerTransaction:
    """The `copy` module, except that within one transaction a table is deep-copied once."""

    def __init__(self) -> None:
        self.copies: dict[int, object] | None = None

    def deepcopy(self, obj: object, *args: object) -> object:
        from moto.dynamodb.models.table import Table

        # Only tables (alive throughout the transaction, so their ids are theirs) are shared.
        if self.copies is None or args or not isinstance(obj, Table):
            return copy.deepcopy(obj, *args)
        if id(obj) not in self.copies:
            self.copies[id(obj)] = copy.deepcopy(obj)
        return self.copies[id(obj)]

    def __getattr__(self, name: str) -> object:
        return getattr(copy, name)


def copy_tables_once_per_transaction() -> None:
    import moto.dynamodb.models as models

    shim = _CopyOncePerTransaction()
    models.copy = shim  # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):  # type: ignore[no-untyped-def]
        shim.copies = {}
        try:
            return original(self, transact_items)
        finally:
            shim.copies = None

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stop_tracking_dynamodb_objects()
    copy_tables_once_per_transaction()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
