"""Iris's API as a WSGI module: a production server imports ``application``."""
import os


def _app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/healthcheck":
        body = b"OK\n"
    elif path == "/pid":
        body = f"{os.getpid()}\n".encode()
    else:
        body = b"iris\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def factory(global_config, **local_config):
    return _app


application = _app
