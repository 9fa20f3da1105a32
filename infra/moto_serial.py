"""moto's server, answering one request at a time.

DynamoDB applies each transaction atomically; moto does not under concurrent requests (it checks
conditions, writes, and on a failure restores a copy of the whole table, racing with other
requests). Serialising the requests gives the emulator DynamoDB's atomicity, so tests that race
writes against each other (capped counters, conditional puts) check our code, not moto's threads.
Connections are still accepted concurrently.

It also answers `GET /clientwatch/sent.json` with only what SES and SNS "sent" (the e-mails and
the texts), which tests read back many times: moto's own `/moto-api/data.json` serialises every
table of every test each time.
"""

import json
import threading

import moto.server as server
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

_lock = threading.Lock()
_Dispatcher = server.DomainDispatcherApplication


def _sent():
    emails, texts = [], []
    for backends, kind in ((ses_backends, "ses"), (sns_backends, "sns")):
        for account in list(backends.keys()):
            for region in list(backends[account].keys()):
                backend = backends[account][region]
                if kind == "ses":
                    for m in backend.sent_messages:
                        if hasattr(m, "destinations") and hasattr(m, "body"):
                            emails.append({"source": m.source, "destinations": m.destinations,
                                           "subject": m.subject, "body": m.body})
                else:
                    for phone_number, message in backend.sms_messages.values():
                        texts.append({"phone_number": phone_number, "message": message})
    return {"emails": emails, "sms": texts}


# moto rolls a transaction back by restoring a deep copy of the whole table, taken once per
# operation of the transaction: a transaction then costs time in proportion to the table's size
# (DynamoDB's does not), so a test that writes thousands of items one transaction each grows
# quadratically (a 1,200-row import took minutes). Copy only the items the transaction touches
# instead and restore those on a failure; the requests are serialised (below), so nothing else
# sees the table in between.
import copy

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_transact_write_items = DynamoDBBackend.transact_write_items


def _touched(backend, transact_items):
    saved = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        attrs = op.get("Key") or op.get("Item")
        if table is None or not attrs or table.hash_key_attr not in attrs:
            continue
        h = DynamoType(attrs[table.hash_key_attr])
        if table.range_key_attr:
            if table.range_key_attr not in attrs:
                continue
            r = DynamoType(attrs[table.range_key_attr])
            old = table.items[h].get(r) if h in table.items else None
        else:
            r = None
            old = table.items.get(h)
        saved.append((table, h, r, copy.deepcopy(old)))
    return saved


def _restore(saved):
    for table, h, r, old in reversed(saved):
        if r is None:
            if old is None:
                table.items.pop(h, None)
            else:
                table.items[h] = old
        elif old is None:
            if h in table.items:
                table.items[h].pop(r, None)
                if not table.items[h]:
                    del table.items[h]
        else:
            table.items[h][r] = old


def _transact_write_items_by_item(self, transact_items):
    saved = _touched(self, transact_items)
    deepcopy = copy.deepcopy
    copy.deepcopy = lambda x, memo=None: x if isinstance(x, Table) else deepcopy(x, memo)
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        _restore(saved)
        raise
    finally:
        copy.deepcopy = deepcopy


DynamoDBBackend.transact_write_items = _transact_write_items_by_item


class SerialDispatcher(_Dispatcher):
    def __call__(self, environ, start_response):
        with _lock:
            if environ.get("PATH_INFO") == "/clientwatch/sent.json":
                body = json.dumps(_sent()).encode()
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
                return [body]
            return list(super().__call__(environ, start_response))


server.DomainDispatcherApplication = SerialDispatcher

if __name__ == "__main__":
    server.main()
