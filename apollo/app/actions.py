"""Work done over the message bus: ``/v1/items/{id}/actions``, ``/v1/jobs``,
``/v1/audit``.

    POST /v1/items/{id}/actions {"action": "increment", "by": 2}
        -> 202 {"job": JOB}          cast to an rpc worker (the job is in the
                                     outbox first; GET /v1/jobs/{id} follows it)
    POST /v1/items/{id}/actions {"action": "digest"}
        -> 200 {"result": {...}}     call: the rpc worker's answer
    GET /v1/audit[?item_id=ID&limit=N&marker=SEQ]
        -> 200 {"events": [...], "next_marker": SEQ or null}
    GET /v1/bus/probe
        -> 200 {"probe": {...}}      a call, a cast and a notification, each
                                     seen to arrive (503 naming what did not)

With no ``transport_url`` the actions answer 503 (docs/framework.md).
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import eventlet
from oslo_config import cfg

from apollo import exception, objects
from apollo.app.items import ID_PATTERN, StorageController, _check_id
from apollo.common import db, rpc, timeutils
from phoenix import wsgi

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

ACTIONS = ('increment', 'digest')
MAX_INCREMENT = 10 ** 9


def job_view(job: dict[str, Any]) -> dict[str, Any]:
    view = dict(job)
    view['created_at'] = timeutils.to_iso(job['created_at'])
    view['updated_at'] = timeutils.to_iso(job['updated_at'])
    return view


def _action(body: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict):
        raise exception.InvalidItem('The body must be a JSON object: {"action": ...}.')
    action = body.get('action')
    if action not in ACTIONS:
        raise exception.InvalidItem('Field "action" must be one of %s.' % ', '.join(ACTIONS))
    allowed = {'increment': {'action', 'by'}, 'digest': {'action', 'delay'}}[action]
    unknown = set(body) - allowed
    if unknown:
        raise exception.InvalidItem('Unknown field %r for action %s.'
                                    % (sorted(unknown)[0], action))
    args: dict[str, Any] = {}
    if action == 'increment':
        by = body.get('by', 1)
        if isinstance(by, bool) or not isinstance(by, int) or abs(by) > MAX_INCREMENT:
            raise exception.InvalidItem('Field "by" must be an integer between -%d and %d.'
                                        % (MAX_INCREMENT, MAX_INCREMENT))
        args['by'] = by
    else:
        delay = body.get('delay', 0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 60:
            raise exception.InvalidItem('Field "delay" must be a number of seconds, 0-60.')
        args['delay'] = delay
    return action, args


class ActionsController(StorageController):
    def __init__(self, storage: db.Storage | None = None,
                 engine: rpc.EngineAPI | None = None) -> None:
        super().__init__(storage)
        self.engine = engine or rpc.EngineAPI()

    def create(self, request: wsgi.Request, item_id: str, body: Any) -> Any:
        _check_id(item_id)
        action, args = _action(body)
        if not CONF.transport_url:
            raise exception.MessagingUnavailable(
                reason='no messaging transport is configured ([DEFAULT] transport_url)')
        if action == 'digest':
            item = objects.Item.from_dict(self.storage.get(item_id))
            return {'result': self.engine.digest(item, delay=args['delay'])}
        job = self.storage.create_job(item_id, action, args)
        self.storage.job_cast(job['id'])
        try:
            self.engine.perform_job(job['id'])
        except exception.MessagingUnavailable as exc:
            # Reported, never silently dropped: the job becomes "failed"
            # unless a worker already performed it (then it stays "done").
            job = self.storage.fail_job(job['id'], str(exc))
            if job['status'] == 'failed':
                LOG.error('Job %s not sent: %s', job['id'], exc)
                raise exception.MessagingUnavailable(
                    reason='job %s was not sent and will not run (%s)' % (job['id'], exc)) from exc
        job = self.storage.get_job(job['id'])
        result = wsgi.JSONResponseSerializer().serialize(request, {'job': job_view(job)}, 202)
        result.headers['Location'] = '%s/v1/jobs/%s' % (request.application_url, job['id'])
        return result


class JobsController(StorageController):
    def show(self, request: wsgi.Request, job_id: str) -> dict[str, Any]:
        if not ID_PATTERN.match(job_id):
            raise exception.JobNotFound(job_id=job_id)
        return {'job': job_view(self.storage.get_job(job_id))}


class AuditController(StorageController):
    def index(self, request: wsgi.Request) -> dict[str, Any]:
        params = request.GET
        try:
            limit = int(params.get('limit', str(CONF.max_list_limit)))
            marker = int(params['marker']) if 'marker' in params else None
        except ValueError:
            raise exception.InvalidItem('Queries "limit" and "marker" must be integers.') from None
        if limit < 1:
            raise exception.InvalidItem('Query "limit" must be at least 1.')
        limit = min(limit, CONF.max_list_limit)
        item_id = params.get('item_id')
        events = self.storage.list_events(limit + 1, marker=marker, item_id=item_id)
        more = len(events) > limit
        events = events[:limit]
        for event in events:
            event['received_at'] = timeutils.to_iso(event['received_at'])
        return {'events': events, 'next_marker': events[-1]['seq'] if more else None}


class BusController(StorageController):
    """``GET /v1/bus/probe``: the message bus end to end, for monitoring and
    for the packaging toolkit's HTTP checks (which send GETs): an RPC call
    answered by an rpc worker, a cast whose effect an rpc worker records,
    and a notification a notification worker records, each within
    ``rpc_response_timeout`` (at most 10 s). Leaves two audit events with the
    probe's token as item id."""

    MAX_WAIT = 10.0

    def __init__(self, storage: db.Storage | None = None,
                 engine: rpc.EngineAPI | None = None) -> None:
        super().__init__(storage)
        self.engine = engine or rpc.EngineAPI()

    def probe(self, request: wsgi.Request) -> dict[str, Any]:
        if not CONF.transport_url:
            raise exception.MessagingUnavailable(
                reason='no messaging transport is configured ([DEFAULT] transport_url)')
        token = str(uuid.uuid4())
        wait = min(float(CONF.rpc_response_timeout), self.MAX_WAIT)
        began = time.monotonic()
        answer = self.engine.ping(token, timeout=wait)
        result: dict[str, Any] = {'token': token, 'call': {
            'worker': answer['worker'], 'ms': round((time.monotonic() - began) * 1000, 1)}}
        sent = time.monotonic()
        self.engine.probe(token)
        rpc.notify_raw('apollo.probe', {'id': token})
        wanted = {'engine.probe': 'cast', 'apollo.probe': 'notification'}
        deadline = sent + wait
        while wanted and time.monotonic() < deadline:
            for event in self.storage.list_events(10, item_id=token):
                kind = wanted.pop(event['event_type'], None)
                if kind is not None:
                    result[kind] = {'by': event['publisher_id'],
                                    'ms': round((time.monotonic() - sent) * 1000, 1)}
            if wanted:
                eventlet.sleep(0.05)
        if wanted:
            raise exception.MessagingUnavailable(
                reason='probe %s: no %s recorded within %.0f s (are rpc_workers and '
                       'notification_workers running?)'
                       % (token, ' and no '.join(sorted(wanted.values())), wait))
        return {'probe': result}
