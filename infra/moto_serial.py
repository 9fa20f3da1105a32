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
