"""moto's server, answering one request at a time.

DynamoDB applies each transaction atomically; moto does not under concurrent requests (it checks
conditions, writes, and on a failure restores a copy of the whole table, racing with other
requests). Serialising the requests gives the emulator DynamoDB's atomicity, so tests that race
writes against each other (capped counters, conditional puts) check our code, not moto's threads.
Connections are still accepted concurrently.
"""

import threading

import moto.server as server

_lock = threading.Lock()
_Dispatcher = server.DomainDispatcherApplication


class SerialDispatcher(_Dispatcher):
    def __call__(self, environ, start_response):
        with _lock:
            return list(super().__call__(environ, start_response))


server.DomainDispatcherApplication = SerialDispatcher

if __name__ == "__main__":
    server.main()
