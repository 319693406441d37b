"""iris-relay: a line echo server; a daemon because it serves forever."""
import socketserver
import sys

from oslo_config import cfg

from iris import opts


class Echo(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(self.rfile.readline())


def main() -> None:
    conf = cfg.ConfigOpts()
    opts.register(conf)
    conf(sys.argv[1:], project="iris")
    server = socketserver.ThreadingTCPServer((conf.relay_host, conf.relay_port), Echo)
    server.serve_forever()
