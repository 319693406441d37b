"""A static HTTP server for one repository folder, bound to one address only.

``python -m phoenix_rpm.reposerve ADDRESS DIR``: serves DIR read-only on
ADDRESS, on a free port it prints as the first line of stdout, and logs each
request to stderr. The dnf verification runs it in the peer namespace of the
box's veth pair (docs/repo.md), so it is reachable from the box and from
nowhere else; the project's network rule allows nothing wider.
"""
from __future__ import annotations

import functools
import http.server
import sys


class _Handler(http.server.SimpleHTTPRequestHandler):
    """GET/HEAD of files only: no directory listings (a repository needs none)."""

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        self.send_error(404, "no listing")
        return None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))
        sys.stderr.flush()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m phoenix_rpm.reposerve ADDRESS DIR\n")
        return 2
    address, folder = argv
    handler = functools.partial(_Handler, directory=folder)
    server = http.server.ThreadingHTTPServer((address, 0), handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
