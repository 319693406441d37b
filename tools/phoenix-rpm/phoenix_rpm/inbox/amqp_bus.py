"""In the box: malformed messages onto an RPC topic, and a queue's depth, over raw AMQP 0-9-1.

Usage:
  python3 amqp_bus.py malformed TOPIC CONFIG_FILE [CONFIG_FILE...]
      -> {"published": [names...], "queue": TOPIC}
  python3 amqp_bus.py depth QUEUE CONFIG_FILE [CONFIG_FILE...]
      -> {"messages": N, "consumers": N}

The broker, user, password and vhost come from ``[DEFAULT] transport_url``
of the service's own config files, read in order, last wins, as oslo.config
does. Messages go through the default exchange straight to the queue named
after the topic (oslo.messaging's RPC queue of a topic has its name), so the
service's exchange name (``control_exchange``, often set in code) does not
matter. Stdlib only (the box's python3 has no AMQP
client, and the service's own environment is not ours to borrow): the few
frames a publish and a passive queue declare need are written here
(AMQP 0-9-1, sections 4.2 and 1.4 of the specification). The ops scenario
"malformed message" (docs/reliability.md) publishes what a confused or
hostile producer could: bytes that are not JSON, an oslo envelope whose
message is broken, a call of a method that does not exist, arguments of
the wrong type.
"""
from __future__ import annotations

import configparser
import json
import socket
import struct
import sys
import urllib.parse
from typing import Any

FRAME_END = b"\xce"

# (name, content type, body): each must be logged, acknowledged and skipped.
MALFORMED = [
    ("bytes that are not JSON", "application/octet-stream", b"\xff\xfe not json at all"),
    ("oslo envelope with a broken message", "application/json",
     b'{"oslo.version": "2.0", "oslo.message": "{broken"}'),
    ("cast of a method that does not exist", "application/json",
     json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(
         {"method": "phoenix_ops_no_such_method", "args": {}, "namespace": None, "version": "1.0"})}).encode()),
    ("JSON that is not an oslo message", "application/json", b'{"hello": ["not", "rpc"]}'),
]


def shortstr(s: str) -> bytes:
    b = s.encode()
    return struct.pack("B", len(b)) + b


def longstr(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


class Amqp:
    """One connection, channel 1."""

    def __init__(self, host: str, port: int, user: str, password: str, vhost: str) -> None:
        self.sock = socket.create_connection((host, port), timeout=15)
        self.sock.sendall(b"AMQP\x00\x00\x09\x01")
        self.expect(10, 10)  # Connection.Start
        self.method(0, 10, 11, struct.pack(">I", 0) + shortstr("PLAIN")
                    + longstr(b"\x00" + user.encode() + b"\x00" + password.encode()) + shortstr("en_US"))
        tune = self.expect(10, 30)
        channel_max, frame_max, _heartbeat = struct.unpack(">HIH", tune[:8])
        self.method(0, 10, 31, struct.pack(">HIH", channel_max, frame_max, 0))
        self.method(0, 10, 40, shortstr(vhost) + shortstr("") + b"\x00")
        self.expect(10, 41)
        self.method(1, 20, 10, shortstr(""))
        self.expect(20, 11)

    def frame(self, kind: int, channel: int, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">BHI", kind, channel, len(payload)) + payload + FRAME_END)

    def method(self, channel: int, cls: int, meth: int, args: bytes) -> None:
        self.frame(1, channel, struct.pack(">HH", cls, meth) + args)

    def read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            data += chunk
        return data

    def expect(self, cls: int, meth: int) -> bytes:
        """Read frames until method cls.meth arrives; its arguments. A Close is an error."""
        while True:
            kind, _channel, size = struct.unpack(">BHI", self.read_exact(7))
            payload = self.read_exact(size + 1)[:-1]
            if kind != 1:
                continue  # heartbeats, content of other methods
            got = struct.unpack(">HH", payload[:4])
            if got == (cls, meth):
                return payload[4:]
            if got in ((10, 50), (20, 40)):
                code = struct.unpack(">H", payload[4:6])[0]
                text = payload[7:7 + payload[6]].decode(errors="replace")
                raise ConnectionError(f"the broker closed the {'connection' if got[0] == 10 else 'channel'}: "
                                      f"{code} {text}")

    def publish(self, exchange: str, routing_key: str, body: bytes, content_type: str) -> None:
        self.method(1, 60, 40, struct.pack(">H", 0) + shortstr(exchange) + shortstr(routing_key) + b"\x00")
        # content header: class 60, weight 0, size, flags (content-type, delivery-mode)
        self.frame(2, 1, struct.pack(">HHQH", 60, 0, len(body), 0x8000 | 0x1000)
                   + shortstr(content_type) + b"\x02")
        self.frame(3, 1, body)

    def depth(self, queue: str) -> tuple[int, int]:
        self.method(1, 50, 10, struct.pack(">H", 0) + shortstr(queue) + b"\x01" + struct.pack(">I", 0))
        ok = self.expect(50, 11)
        n = ok[0]
        messages, consumers = struct.unpack(">II", ok[1 + n:9 + n])
        return messages, consumers

    def close(self) -> None:
        self.method(0, 10, 50, struct.pack(">H", 200) + shortstr("bye") + struct.pack(">HH", 0, 0))
        try:
            self.expect(10, 51)
        finally:
            self.sock.close()


def parse_url(url: str) -> dict[str, Any]:
    """Host, port, user, password and vhost of the first host of an oslo.messaging URL
    (``rabbit://user:pass@host:5672,user:pass@host2:5672/vhost``)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    netloc, _, path = rest.partition("/")
    creds, _, hostport = netloc.split(",")[0].rpartition("@")
    user, _, password = creds.partition(":")
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.partition(":")
    vhost = urllib.parse.unquote(path.split("?", 1)[0]) or "/"
    return {"host": host, "port": int(port or 5672), "user": urllib.parse.unquote(user) or "guest",
            "password": urllib.parse.unquote(password) or "guest", "vhost": vhost}


def settings(files: list[str]) -> dict[str, Any]:
    cfg = configparser.ConfigParser(interpolation=None, strict=False)
    cfg.read(files)
    url = cfg.defaults().get("transport_url", "").strip()
    if not url:
        raise SystemExit(f"no [DEFAULT] transport_url in {', '.join(files)}")
    return parse_url(url)


def main(argv: list[str]) -> dict[str, Any]:
    mode, name, files = argv[1], argv[2], argv[3:]
    amqp = Amqp(**settings(files))
    try:
        if mode == "malformed":
            for _what, ctype, body in MALFORMED:
                amqp.publish("", name, body, ctype)  # the default exchange: to the queue named `name`
            return {"published": [what for what, _, _ in MALFORMED], "queue": name}
        messages, consumers = amqp.depth(name)
        return {"messages": messages, "consumers": consumers}
    finally:
        amqp.close()


if __name__ == "__main__":
    print(json.dumps(main(sys.argv)))
