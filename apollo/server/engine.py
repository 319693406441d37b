"""apollo's RPC endpoint: the work the API hands to rpc workers.

``perform_job`` is cast: the API wrote the job to SQLite first (the outbox),
so the job is performed exactly once however often it is delivered
(Storage.perform_job). ``digest`` is called and answers with a result.
Public methods are the RPC API (phoenix.server.messaging serves them);
the version is the one ``apollo.common.rpc.EngineAPI`` asks for.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from typing import Any

import eventlet
import oslo_messaging
from oslo_config import cfg

from apollo import exception, objects
from apollo.common import db

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class EngineManager:
    """Endpoint of the ``apollo-engine`` topic."""

    target = oslo_messaging.Target(version='1.0')

    def __init__(self, conf: cfg.ConfigOpts | None = None) -> None:
        self.conf = conf or CONF
        self.storage = db.storage_from_conf(self.conf)  # connects per process

    def _worker(self) -> str:
        return '%s:%d' % (socket.gethostname(), os.getpid())

    def perform_job(self, ctxt: dict[str, Any], job_id: str) -> dict[str, Any]:
        try:
            job, performed = self.storage.perform_job(job_id, self._worker())
        except exception.JobNotFound:
            LOG.warning('Job %s does not exist; message dropped', job_id)
            return {}
        if performed:
            LOG.info('Job %s (%s of item %s) %s', job_id, job['action'], job['item_id'],
                     job['status'])
        else:
            LOG.info('Job %s already %s; this delivery does nothing', job_id, job['status'])
        return job

    def ping(self, ctxt: dict[str, Any], token: str) -> dict[str, Any]:
        """Call: answers at once (GET /v1/bus/probe's RPC round trip)."""
        return {'token': token, 'worker': self._worker()}

    def probe(self, ctxt: dict[str, Any], token: str) -> None:
        """Cast: records ``engine.probe`` in the audit trail, where
        GET /v1/bus/probe looks for it."""
        self.storage.record_event('cast-' + token, 'engine.probe', self._worker(), token,
                                  {'id': token}, None)

    def digest(self, ctxt: dict[str, Any], item: objects.Item,
               delay: float = 0.0) -> dict[str, Any]:
        if not isinstance(item, objects.Item):
            raise ValueError('digest needs an Item object, got %s' % type(item).__name__)
        if delay and self.conf.debug_slow_requests:
            eventlet.sleep(min(float(delay), 60.0))  # testing aid, as ?sleep= is
        canonical = json.dumps({'name': item.name, 'value': item.value}, sort_keys=True,
                               separators=(',', ':'))
        return {'item_id': item.id, 'version': item.VERSION,
                'sha256': hashlib.sha256(canonical.encode('utf-8')).hexdigest(),
                'worker': self._worker()}
