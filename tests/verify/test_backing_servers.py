"""The backing servers hermes does not use, for real: PostgreSQL and memcached in a booted box.

test_backing.py proves MariaDB and RabbitMQ through a whole service. Here
the other two ``needs`` words get the same steps the verify stage runs
(phoenix_rpm.backing): a root holding the servers (cached per package list),
start, wait until they answer, provision; then a client logs in over TCP
with the generated credentials, and the servers listen on loopback only.
Cost: one box, about 15 s (plus the root once: about 30 s to minutes).
"""
from __future__ import annotations

import re

from phoenix_rpm import backing
from phoenix_rpm.box import booted, ensure_root
from phoenix_rpm.verify_profile import VerifyProfile


def _listening(box) -> dict[int, set[str]]:
    """port -> addresses listening (from /proc/net/tcp and tcp6)."""
    out: dict[int, set[str]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        text = box.exec(["cat", table], check=False).stdout
        for line in text.splitlines()[1:]:
            f = line.split()
            if len(f) > 3 and f[3] == "0A":
                addr, port = f[1].rsplit(":", 1)
                out.setdefault(int(port, 16), set()).add(addr)
    return out


def test_postgresql_and_memcached_provisioned_and_reachable_with_the_written_settings() -> None:
    profile = VerifyProfile(needs=("postgresql", "memcached"))
    with booted(ensure_root(extra=profile.packages)) as box:
        backing.start_servers(box, profile)
        creds = backing.credentials_for("demo-svc")
        options = backing.provision(box, profile, creds)
        text = backing.dropin_text(options, profile)
        url = next(o.value for o in options if (o.section, o.key) == ("database", "connection"))
        m = re.fullmatch(r"postgresql\+psycopg2://(\w+):(\w+)@127\.0\.0\.1/(\w+)", url)
        assert m and m.groups() == (creds.user, creds.password, creds.database), url
        # The database answers over TCP to the generated user and password (and only to them).
        login = box.exec(["sh", "-c", f"cd / && PGPASSWORD={creds.password} psql -h 127.0.0.1 -U {creds.user} "
                          f"{creds.database} -Atc 'CREATE TABLE t (i int); SELECT current_user, current_database()'"],
                         check=False)
        assert login.returncode == 0 and login.stdout.split()[-1] == f"{creds.user}|{creds.database}", login
        wrong = box.exec(["sh", "-c", f"cd / && PGPASSWORD=wrong psql -h 127.0.0.1 -U {creds.user} "
                          f"{creds.database} -Atc 'SELECT 1'"], check=False)
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
        assert "[cache]\nenabled = true\nbackend = oslo_cache.memcache_pool\nmemcache_servers = 127.0.0.1:11211" in text
        stats = box.exec(["python3", "-c", "import socket; s = socket.create_connection(('127.0.0.1', 11211)); "
                          "s.sendall(b'stats\\r\\n'); print(s.recv(4096).decode())"], check=False)
        assert "STAT pid" in stats.stdout, stats
        listening = _listening(box)
        loopback = {"0100007F", "00000000000000000000000001000000"}
        for port in (5432, 11211):
            assert listening.get(port), f"nothing listens on {port}: {sorted(listening)}"
            assert listening[port] <= loopback, f"port {port} listens beyond loopback: {listening[port]}"
