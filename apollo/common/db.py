"""Apollo's item store: SQLite under ``state_path``.

One connection per process (reopened after fork: SQLite connections must not
cross a fork), autocommit with explicit ``BEGIN IMMEDIATE`` for writes, WAL so
the API workers and apollo-periodic read while one writes. The schema version
is ``PRAGMA user_version``; ``MIGRATIONS[n]`` takes it from n to n+1.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from typing import Any, Iterator

from oslo_config import cfg

from apollo import exception

CONF = cfg.CONF

MIGRATIONS: list[tuple[str, ...]] = [
    ("""CREATE TABLE items (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            value TEXT NOT NULL DEFAULT 'null',
            expires_at REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",),
    ("CREATE INDEX items_expires_at ON items (expires_at) WHERE expires_at IS NOT NULL",),
]
SCHEMA_VERSION = len(MIGRATIONS)
COLUMNS = 'id, name, value, expires_at, created_at, updated_at'


def _row_to_item(row: tuple) -> dict[str, Any]:
    return {'id': row[0], 'name': row[1], 'value': json.loads(row[2]),
            'expires_at': row[3], 'created_at': row[4], 'updated_at': row[5]}


class Storage:
    """CRUD of items in one SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    # -- connection and schema -----------------------------------------
    def connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._connect()
            self._pid = os.getpid()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, mode=0o750, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=False)
            conn.execute('PRAGMA journal_mode=WAL')
            conn.execute('PRAGMA synchronous=NORMAL')
        except (OSError, sqlite3.Error) as exc:
            raise exception.StorageUnavailable(reason='%s: %s' % (self.path, exc))
        return conn

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def version(self) -> int:
        return self._execute('PRAGMA user_version').fetchone()[0]

    def sync(self) -> tuple[int, int]:
        """Apply pending migrations; return (version before, version after)."""
        conn = self.connection()
        try:
            conn.execute('BEGIN IMMEDIATE')
            before = current = conn.execute('PRAGMA user_version').fetchone()[0]
            if current > SCHEMA_VERSION:
                raise exception.StorageUnavailable(
                    reason='schema version %d is newer than this apollo (%d)'
                    % (current, SCHEMA_VERSION))
            for statements in MIGRATIONS[current:]:
                for statement in statements:
                    conn.execute(statement)
                current += 1
            conn.execute('PRAGMA user_version = %d' % current)
            conn.execute('COMMIT')
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute('ROLLBACK')
            if isinstance(exc, sqlite3.Error):
                raise exception.StorageUnavailable(reason='%s: %s' % (self.path, exc))
            raise
        return before, current

    def _execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        try:
            return self.connection().execute(sql, params)
        except sqlite3.OperationalError as exc:
            if 'no such table' in str(exc):
                self.sync()  # a database deleted under a running service
                return self.connection().execute(sql, params)
            raise exception.StorageUnavailable(reason=str(exc))

    # -- items ------------------------------------------------------------
    def get(self, item_id: str) -> dict[str, Any]:
        row = self._execute('SELECT %s FROM items WHERE id = ?' % COLUMNS,
                            (item_id,)).fetchone()
        if row is None:
            raise exception.ItemNotFound(item_id=item_id)
        return _row_to_item(row)

    def list(self, limit: int, marker: str | None = None,
             name: str | None = None) -> list[dict[str, Any]]:
        clauses, params = [], []
        if marker is not None:
            row = self._execute('SELECT rowid FROM items WHERE id = ?', (marker,)).fetchone()
            if row is None:
                raise exception.InvalidItem('marker %s is not an existing item id.' % marker)
            clauses.append('rowid > ?')
            params.append(row[0])
        if name is not None:
            clauses.append('name = ?')
            params.append(name)
        where = (' WHERE ' + ' AND '.join(clauses)) if clauses else ''
        rows = self._execute('SELECT %s FROM items%s ORDER BY rowid LIMIT ?'
                             % (COLUMNS, where), tuple(params) + (limit,)).fetchall()
        return [_row_to_item(row) for row in rows]

    def all(self) -> Iterator[dict[str, Any]]:
        for row in self._execute('SELECT %s FROM items ORDER BY rowid' % COLUMNS):
            yield _row_to_item(row)

    def create(self, name: str, value: Any, expires_at: float | None) -> dict[str, Any]:
        now = time.time()
        item_id = str(uuid.uuid4())
        try:
            self._execute('INSERT INTO items (%s) VALUES (?, ?, ?, ?, ?, ?)' % COLUMNS,
                          (item_id, name, json.dumps(value), expires_at, now, now))
        except sqlite3.IntegrityError:
            raise exception.DuplicateItemName(name=name)
        return self.get(item_id)

    def update(self, item_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        if not fields:
            return self.get(item_id)
        assignments = ', '.join('%s = ?' % key for key in fields) + ', updated_at = ?'
        values = [json.dumps(v) if k == 'value' else v for k, v in fields.items()]
        try:
            cursor = self._execute('UPDATE items SET %s WHERE id = ?' % assignments,
                                   tuple(values) + (time.time(), item_id))
        except sqlite3.IntegrityError:
            raise exception.DuplicateItemName(name=fields.get('name'))
        if cursor.rowcount == 0:
            raise exception.ItemNotFound(item_id=item_id)
        return self.get(item_id)

    def delete(self, item_id: str) -> None:
        cursor = self._execute('DELETE FROM items WHERE id = ?', (item_id,))
        if cursor.rowcount == 0:
            raise exception.ItemNotFound(item_id=item_id)

    def delete_expired(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        cursor = self._execute('DELETE FROM items WHERE expires_at IS NOT NULL '
                               'AND expires_at <= ?', (now,))
        return cursor.rowcount


def storage_from_conf(conf: cfg.ConfigOpts | None = None) -> Storage:
    conf = conf or CONF
    return Storage(conf.database_file)


def sync_schema(conf: cfg.ConfigOpts | None = None) -> tuple[int, int]:
    """Create or migrate the schema, then close (the parent must not keep a
    connection across fork). Used by ``apollo-manage db sync`` and at start."""
    storage = storage_from_conf(conf)
    try:
        return storage.sync()
    finally:
        storage.close()
