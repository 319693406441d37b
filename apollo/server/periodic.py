"""apollo-periodic's work: expire items and write a JSON snapshot.

The manager is built in the parent and run in forked workers (see
phoenix.server.service.PeriodicService); its storage connects lazily, per
process.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from typing import Any

from oslo_config import cfg

from apollo import exception
from apollo.app.items import view
from apollo.common import db, timeutils

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class PeriodicManager:
    """``run_periodic_tasks()`` runs every task once and returns the interval."""

    def __init__(self, conf: cfg.ConfigOpts | None = None) -> None:
        self.conf = conf or CONF
        self.storage = db.storage_from_conf(self.conf)
        self.expired_total = 0

    @property
    def interval(self) -> int:
        seconds: int = self.conf.periodic_interval
        return seconds

    def expire_items(self, now: float | None = None) -> int:
        count = self.storage.delete_expired(now)
        self.expired_total += count
        if count:
            LOG.info('Expired %d items', count)
        return count

    def write_snapshot(self, expired: int = 0) -> dict[str, Any]:
        """Atomically replace ``snapshot_file`` with every item (write + rename)."""
        items = [view(item) for item in self.storage.all()]
        snapshot = {'generated_at': timeutils.to_iso(time.time()), 'pid': os.getpid(),
                    'count': len(items), 'expired_last_run': expired,
                    'expired_total': self.expired_total, 'items': items}
        path = self.conf.snapshot_file
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix='.snapshot-', dir=directory)
        try:
            with os.fdopen(fd, 'w') as handle:
                json.dump(snapshot, handle)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return snapshot

    def resend_stale_jobs(self, now: float | None = None) -> int:
        """Cast again the jobs still queued ``job_resend_after`` seconds after
        their last cast: the outbox half of "performed exactly once"
        (docs/framework.md, "Jobs: exactly once")."""
        if not self.conf.transport_url:
            return 0
        from apollo.common import rpc
        now = time.time() if now is None else now
        engine = rpc.EngineAPI()
        sent = 0
        for job in self.storage.stale_jobs(now - self.conf.job_resend_after):
            try:
                engine.perform_job(job['id'])
            except exception.MessagingUnavailable as exc:
                LOG.warning('Resending job %s failed (next run tries again): %s',
                            job['id'], exc)
                break
            self.storage.job_cast(job['id'])
            sent += 1
        if sent:
            LOG.info('Cast %d queued jobs again', sent)
        return sent

    def run_periodic_tasks(self) -> float:
        """Run every task once; expected failures (an unusable state
        directory) are one log line each, not a traceback, and the next run
        tries again."""
        expired = 0
        try:
            expired = self.expire_items()
        except (exception.ApolloError, OSError) as exc:
            LOG.error('Expiring items failed: %s', exc)
        try:
            snapshot = self.write_snapshot(expired)
        except (exception.ApolloError, OSError) as exc:
            LOG.error('Writing the snapshot to %s failed: %s', self.conf.snapshot_file, exc)
        else:
            LOG.debug('Snapshot of %d items written to %s', snapshot['count'],
                      self.conf.snapshot_file)
        try:
            self.resend_stale_jobs()
        except (exception.ApolloError, OSError) as exc:
            LOG.error('Resending queued jobs failed: %s', exc)
        return float(self.interval)
