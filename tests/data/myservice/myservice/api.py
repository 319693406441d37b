"""The HTTP API: JSON on GET, port and failure mode from /etc/myservice/myservice.conf."""
from __future__ import annotations

import configparser
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONFIG = os.environ.get("MYSERVICE_CONFIG", "/etc/myservice/myservice.conf")


def settings() -> tuple[str, int, bool]:
    cfg = configparser.ConfigParser()
    cfg.read(CONFIG)
    section = cfg["DEFAULT"]
    return (section.get("bind_host", "0.0.0.0"), section.getint("port", 8080),
            section.getboolean("fail_every_request", False))


class Handler(BaseHTTPRequestHandler):
    fail = False

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status, body = (500, {"error": "broken"}) if self.fail else (200, {"service": "myservice"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    host, port, fail = settings()
    Handler.fail = fail
    ThreadingHTTPServer((host, port), Handler).serve_forever()
