"""The notification workers' endpoint: an audit trail of item events
(and of the probes of GET /v1/bus/probe).

Each ``item.*`` notification is recorded once in SQLite (by its message id,
so a redelivery adds nothing); ``GET /v1/audit`` reads it.
"""
from __future__ import annotations

import logging
from typing import Any

import oslo_messaging
from oslo_config import cfg

from apollo import exception, objects
from apollo.common import db

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class AuditEndpoint:
    # item.* events, and apollo.probe (GET /v1/bus/probe)
    filter_rule = oslo_messaging.NotificationFilter(event_type=r'^(item|apollo)\.')

    def __init__(self) -> None:
        self.storage = db.storage_from_conf()

    def info(self, ctxt: dict[str, Any], publisher_id: str, event_type: str,
             payload: Any, metadata: dict[str, Any]) -> Any:
        item_id: str | None
        data: Any  # recorded as JSON: the item, the payload dict, or its text
        if isinstance(payload, objects.Item):
            item_id, data = payload.id, payload.to_dict()
        elif isinstance(payload, dict):
            item_id, data = payload.get('id'), payload
        else:
            LOG.warning('Notification %s from %s has a payload of type %s; recorded as text',
                        event_type, publisher_id, type(payload).__name__)
            item_id, data = None, repr(payload)
        try:
            self.storage.record_event(metadata.get('message_id') or '', event_type,
                                      publisher_id, item_id, data, metadata.get('timestamp'))
        except exception.StorageUnavailable as exc:
            LOG.error('Notification %s not recorded: %s', event_type, exc)
        return oslo_messaging.NotificationResult.HANDLED


def endpoints() -> list[Any]:
    return [AuditEndpoint()]
