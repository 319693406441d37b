"""hermes-api: a WSGI application (JSON over HTTP) served by wsgiref, threaded.

It refuses to start without its database and its message bus, as real
OpenStack APIs do, and serves from a listener thread (the main thread waits).
"""
import json
import signal
import socketserver
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from hermes import conf, db, messaging


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    status, body = "404 Not Found", {"error": "not found"}
    if path == "/":
        status, body = "200 OK", {"versions": [{"id": "v1", "status": "CURRENT"}]}
    elif path == "/v1/notes":
        status, body = "200 OK", {"notes": db.notes()}
    elif path == "/v1/status":
        with messaging.connection() as conn:
            messages, consumers = messaging.depth(conn)
        status, body = "200 OK", {"database": "ok", "queue": messaging.QUEUE, "messages": messages,
                                  "consumers": consumers}
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def serve(host, port):
    server = make_server(host, port, application, server_class=ThreadingServer, handler_class=QuietHandler)
    print(f"hermes-api: serving on {host}:{port}", flush=True)
    server.serve_forever()


def main():
    conf.load([])
    db.notes(limit=1)                   # the database answers and has the schema
    messaging.connection().release()    # the message bus answers
    listener = threading.Thread(target=serve, args=(conf.CONF.api.bind_host, conf.CONF.api.port),
                                name="listener", daemon=True)
    listener.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    stopped.wait()                      # until systemctl stop
    return 0


if __name__ == "__main__":
    sys.exit(main())
