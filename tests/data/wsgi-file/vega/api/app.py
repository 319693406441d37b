"""Vega's API: reads /etc/vega/vega-api.conf and the drop-ins oslo.config finds for the project."""
import os

from oslo_config import cfg

from vega.conf import service

CONF = cfg.ConfigOpts()


def load() -> "object":
    CONF.register_opts(service.service_opts)
    files = [f for f in ("/etc/vega/vega-api.conf",) if os.path.exists(f)]
    # project "vega": oslo.config also reads /etc/vega/vega.conf.d/*.conf
    CONF([], project="vega", prog="vega-api", default_config_files=files)
    return _app


def _app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    status = "200 OK"
    if path == "/healthcheck":
        body = b"OK\n"
    elif path == "/pid":
        body = f"{os.getpid()}\n".encode()
    elif path == "/configured":
        ok = CONF.greeting == "from-the-drop-in"
        status, body = ("200 OK", b"yes\n") if ok else ("503 Service Unavailable", f"{CONF.greeting}\n".encode())
    else:
        body = b"vega\n"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def factory(global_config, **local_config):
    return load()
