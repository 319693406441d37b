"""MariaDB through PyMySQL: the [database] connection URL, the schema."""
import urllib.parse

import pymysql

from hermes.conf import CONF

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL, "
    "created TIMESTAMP DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL) ENGINE=InnoDB",
]


def connect():
    url = CONF.database.connection
    if not url:
        raise RuntimeError("no [database] connection configured: hermes needs MariaDB")
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme.startswith("mysql"):
        raise RuntimeError(f"[database] connection: unsupported scheme {parts.scheme!r}")
    return pymysql.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                           user=urllib.parse.unquote(parts.username or ""),
                           password=urllib.parse.unquote(parts.password or ""),
                           database=parts.path.lstrip("/"), charset="utf8mb4", autocommit=True,
                           connect_timeout=5)


def sync():
    with connect() as conn, conn.cursor() as cur:
        for statement in SCHEMA:
            cur.execute(statement)
        cur.execute("DELETE FROM schema_version")
        cur.execute("INSERT INTO schema_version (version) VALUES (1)")


def notes(limit=50):
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT id, body FROM notes ORDER BY id DESC LIMIT %s", (limit,))
        return [{"id": i, "body": b} for i, b in cur.fetchall()]


def add_note(body):
    with connect() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO notes (body) VALUES (%s)", (body,))
