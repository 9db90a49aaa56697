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

moto's TransactWriteItems deep-copies the whole table once per item of the transaction (to roll
back on failure): a 97-item transaction on a table of 3,000 items took 10 s, and the cost grows
with the table. Here a transaction keeps a copy of only the items it names (at most 100) and, if
it fails, puts exactly those back, which rolls back just the same at a cost independent of the
table's size. Usage: python moto_serial.py HOST PORT
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


class _NoTableCopies:
    """The `copy` module, except that tables are not deep-copied (the transaction's own undo
    replaces moto's copy of the table)."""

    def deepcopy(self, obj: object, *args: object) -> object:
        from moto.dynamodb.models.table import Table

        if isinstance(obj, Table) and not args:
            # moto's rollback then puts the same table object back: a no-op.
            return obj
        return copy.deepcopy(obj, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(copy, name)


def undo_only_what_a_transaction_touched() -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType

    models.copy = _NoTableCopies()  # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):  # type: ignore[no-untyped-def]
        # (table, hash key, range key or None, the item before, deep-copied, or None)
        before = []
        seen = set()
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            attrs = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in attrs:
                continue
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = None
            if table.has_range_key:
                if table.range_key_attr not in attrs:
                    continue
                range_key = DynamoType(attrs[table.range_key_attr])
            if (id(table), hash_key, range_key) in seen:
                continue
            seen.add((id(table), hash_key, range_key))
            if range_key is None:
                current = table.items.get(hash_key)
            else:
                current = table.items.get(hash_key, {}).get(range_key)
            before.append((table, hash_key, range_key, copy.deepcopy(current)))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(before):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                    continue
                bucket = table.items[hash_key]
                if item is None:
                    bucket.pop(range_key, None)
                    if not bucket:
                        del table.items[hash_key]
                else:
                    bucket[range_key] = item
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stop_tracking_dynamodb_objects()
    undo_only_what_a_transaction_touched()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
