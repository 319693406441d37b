"""Apollo's item store: SQLite under ``state_path``.

One connection per process (reopened after fork: SQLite connections must not
cross a fork), autocommit with explicit ``BEGIN IMMEDIATE`` for writes, WAL so
the API workers and apollo-periodic read while one writes. The schema version
is ``PRAGMA user_version``; ``MIGRATIONS[n]`` takes it from n to n+1.
"""
from __future__ import annotations

import builtins
import json
import os
import sqlite3
import time
import uuid
from typing import Any, Callable, Iterator, TypeVar

from oslo_config import cfg

from apollo import exception

T = TypeVar('T')
CONF = cfg.CONF
# How long a process opening or migrating the store waits out other
# processes doing the same (see _retrying).
LOCK_WAIT_SECONDS = 30.0

MIGRATIONS: list[tuple[str, ...]] = [
    ("""CREATE TABLE items (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            value TEXT NOT NULL DEFAULT 'null',
            expires_at REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",),
    ("CREATE INDEX items_expires_at ON items (expires_at) WHERE expires_at IS NOT NULL",),
    # 2 -> 3: the outbox of RPC jobs (docs/framework.md, "Jobs: exactly once").
    ("""CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            item_id TEXT NOT NULL,
            action TEXT NOT NULL,
            args TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,
            result TEXT NOT NULL DEFAULT 'null',
            casts INTEGER NOT NULL DEFAULT 0,
            performed_by TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",
     "CREATE INDEX jobs_queued ON jobs (updated_at) WHERE status = 'queued'"),
    # 3 -> 4: the audit trail the notification workers keep.
    ("""CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL UNIQUE,
            event_type TEXT NOT NULL,
            publisher_id TEXT NOT NULL,
            item_id TEXT,
            payload TEXT NOT NULL,
            timestamp TEXT,
            received_at REAL NOT NULL)""",
     "CREATE INDEX audit_item ON audit (item_id)"),
]
SCHEMA_VERSION = len(MIGRATIONS)
COLUMNS = 'id, name, value, expires_at, created_at, updated_at'
JOB_COLUMNS = 'id, item_id, action, args, status, result, casts, performed_by, created_at, updated_at'
AUDIT_COLUMNS = 'seq, message_id, event_type, publisher_id, item_id, payload, timestamp, received_at'


def _is_lock_contention(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return isinstance(exc, sqlite3.OperationalError) and ('locked' in text or 'busy' in text)


def _retrying(step: Callable[[], T]) -> T:
    """Run ``step`` again while SQLite reports lock contention, for up to
    LOCK_WAIT_SECONDS. The connection's busy timeout does not cover every
    case: when the API and apollo-periodic start together on a new file,
    switching it to WAL (and the WAL recovery of the first opener) returns
    "database is locked" at once, without calling the busy handler."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.01
    while True:
        try:
            return step()
        except sqlite3.Error as exc:
            if not _is_lock_contention(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _row_to_item(row: tuple[Any, ...]) -> dict[str, Any]:
    return {'id': row[0], 'name': row[1], 'value': json.loads(row[2]),
            'expires_at': row[3], 'created_at': row[4], 'updated_at': row[5]}


def _row_to_job(row: tuple[Any, ...]) -> dict[str, Any]:
    return {'id': row[0], 'item_id': row[1], 'action': row[2], 'args': json.loads(row[3]),
            'status': row[4], 'result': json.loads(row[5]), 'casts': row[6],
            'performed_by': row[7], 'created_at': row[8], 'updated_at': row[9]}


def _row_to_event(row: tuple[Any, ...]) -> dict[str, Any]:
    return {'seq': row[0], 'message_id': row[1], 'event_type': row[2],
            'publisher_id': row[3], 'item_id': row[4], 'payload': json.loads(row[5]),
            'timestamp': row[6], 'received_at': row[7]}


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
        def open_wal() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=False)
            try:
                conn.execute('PRAGMA journal_mode=WAL')
                conn.execute('PRAGMA synchronous=NORMAL')
            except sqlite3.Error:
                conn.close()
                raise
            return conn

        try:
            os.makedirs(directory, mode=0o750, exist_ok=True)
            conn = _retrying(open_wal)
        except (OSError, sqlite3.Error) as exc:
            raise exception.StorageUnavailable(reason='%s: %s' % (self.path, exc)) from exc
        return conn

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def version(self) -> int:
        version: int = self._execute('PRAGMA user_version').fetchone()[0]
        return version

    def sync(self) -> tuple[int, int]:
        """Apply pending migrations; return (version before, version after)."""
        conn = self.connection()
        try:
            _retrying(lambda: conn.execute('BEGIN IMMEDIATE'))
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
                raise exception.StorageUnavailable(reason='%s: %s' % (self.path, exc)) from exc
            raise
        return before, current

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self.connection().execute(sql, params)
        except sqlite3.OperationalError as exc:
            if 'no such table' in str(exc):
                self.sync()  # a database deleted under a running service
                return self.connection().execute(sql, params)
            raise exception.StorageUnavailable(reason=str(exc)) from exc

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
            raise exception.DuplicateItemName(name=name) from None
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
            raise exception.DuplicateItemName(name=fields.get('name')) from None
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

    # -- jobs (the outbox of RPC casts) ---------------------------------------
    def _write(self) -> sqlite3.Connection:
        conn = self.connection()
        try:
            conn.execute('BEGIN IMMEDIATE')
        except sqlite3.OperationalError as exc:
            raise exception.StorageUnavailable(reason=str(exc)) from exc
        return conn

    def create_job(self, item_id: str, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """A queued job, written before the cast that announces it."""
        self.get(item_id)
        now = time.time()
        job_id = str(uuid.uuid4())
        self._execute('INSERT INTO jobs (%s) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)'
                      % JOB_COLUMNS, (job_id, item_id, action, json.dumps(args),
                                      'queued', 'null', now, now))
        return self.get_job(job_id)

    def get_job(self, job_id: str) -> dict[str, Any]:
        row = self._execute('SELECT %s FROM jobs WHERE id = ?' % JOB_COLUMNS,
                            (job_id,)).fetchone()
        if row is None:
            raise exception.JobNotFound(job_id=job_id)
        return _row_to_job(row)

    def job_cast(self, job_id: str) -> None:
        """Count one more cast of the job (the first or a resend)."""
        self._execute('UPDATE jobs SET casts = casts + 1, updated_at = ? WHERE id = ?',
                      (time.time(), job_id))

    def fail_job(self, job_id: str, reason: str) -> dict[str, Any]:
        """queued -> failed (the cast could not be sent); a job already
        performed stays done: whichever came first wins."""
        self._execute("UPDATE jobs SET status = 'failed', result = ?, updated_at = ? "
                      "WHERE id = ? AND status = 'queued'",
                      (json.dumps({'error': reason}), time.time(), job_id))
        return self.get_job(job_id)

    def perform_job(self, job_id: str, worker: str) -> tuple[dict[str, Any], bool]:
        """Perform a queued job once: its effect and queued -> done commit in
        one transaction, so a redelivered or resent cast finds it done and
        does nothing. Returns (job, performed now)."""
        conn = self._write()
        try:
            row = conn.execute('SELECT %s FROM jobs WHERE id = ?' % JOB_COLUMNS,
                               (job_id,)).fetchone()
            if row is None or row[4] != 'queued':
                conn.execute('ROLLBACK')
                if row is None:
                    raise exception.JobNotFound(job_id=job_id)
                return _row_to_job(row), False
            job = _row_to_job(row)
            item = conn.execute('SELECT %s FROM items WHERE id = ?' % COLUMNS,
                                (job['item_id'],)).fetchone()
            now = time.time()
            if item is None:
                status, result = 'failed', {'error': 'item %s no longer exists' % job['item_id']}
            elif job['action'] == 'increment':
                value = json.loads(item[2])
                if value is None:
                    value = 0
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    status, result = 'failed', {'error': 'the item value is not a number'}
                else:
                    value += job['args'].get('by', 1)
                    conn.execute('UPDATE items SET value = ?, updated_at = ? WHERE id = ?',
                                 (json.dumps(value), now, job['item_id']))
                    status, result = 'done', {'value': value}
            else:
                status, result = 'failed', {'error': 'unknown action %r' % job['action']}
            conn.execute('UPDATE jobs SET status = ?, result = ?, performed_by = ?, '
                         'updated_at = ? WHERE id = ?',
                         (status, json.dumps(result), worker, now, job_id))
            conn.execute('COMMIT')
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute('ROLLBACK')
            if isinstance(exc, sqlite3.Error):
                raise exception.StorageUnavailable(reason=str(exc)) from exc
            raise
        return self.get_job(job_id), True

    def stale_jobs(self, older_than: float, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Queued jobs whose last cast is older than ``older_than`` (epoch s)."""
        rows = self._execute("SELECT %s FROM jobs WHERE status = 'queued' AND updated_at < ? "
                             "ORDER BY updated_at LIMIT ?" % JOB_COLUMNS,
                             (older_than, limit)).fetchall()
        return [_row_to_job(row) for row in rows]

    # -- audit trail ------------------------------------------------------------
    def record_event(self, message_id: str, event_type: str, publisher_id: str,
                     item_id: str | None, payload: Any, timestamp: str | None) -> bool:
        """Record a notification once (a redelivered one has the same id)."""
        cursor = self._execute(
            'INSERT OR IGNORE INTO audit (message_id, event_type, publisher_id, item_id, '
            'payload, timestamp, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
            (message_id, event_type, publisher_id, item_id, json.dumps(payload),
             timestamp, time.time()))
        return cursor.rowcount == 1

    def list_events(self, limit: int, marker: int | None = None,
                    item_id: str | None = None) -> builtins.list[dict[str, Any]]:
        clauses: builtins.list[str] = []
        params: builtins.list[Any] = []
        if marker is not None:
            clauses.append('seq > ?')
            params.append(marker)
        if item_id is not None:
            clauses.append('item_id = ?')
            params.append(item_id)
        where = (' WHERE ' + ' AND '.join(clauses)) if clauses else ''
        rows = self._execute('SELECT %s FROM audit%s ORDER BY seq LIMIT ?'
                             % (AUDIT_COLUMNS, where), tuple(params) + (limit,)).fetchall()
        return [_row_to_event(row) for row in rows]


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
