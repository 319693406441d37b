"""apollo's side of the message bus: the engine's RPC API and the notifier.

The API (wsgi workers) casts jobs and calls the engine through
``EngineAPI``; the RPC workers (``apollo.server.engine.EngineManager``) serve
it. Every item change is announced as a notification (``item.create.end``
...) that the notification workers record (``apollo.server.audit``).
docs/framework.md, "Messaging", has the guarantees.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from oslo_config import cfg

from apollo import exception, objects
from phoenix.server import messaging

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

TOPIC = 'apollo-engine'
RPC_API_VERSION = '1.0'
#: reconnection attempts of one cast/call before the API gives up and says so
#: (oslo.messaging's default, None, would retry forever and hang the request)
SEND_RETRY = 2


def serializer() -> objects.ApolloObjectSerializer:
    return objects.ApolloObjectSerializer()


class EngineAPI:
    """Client side of the engine's RPC API (version 1.0)."""

    def _client(self, timeout: float | None = None) -> Any:
        try:
            client = messaging.rpc_client(CONF, TOPIC, serializer=_SERIALIZER,
                                          version=RPC_API_VERSION,
                                          timeout=timeout or CONF.rpc_response_timeout)
        except messaging.MessagingConfigError as exc:
            raise exception.MessagingUnavailable(reason=str(exc)) from exc
        return client.prepare(retry=SEND_RETRY)

    def perform_job(self, job_id: str) -> None:
        """Cast: returns once the broker confirmed the message (publisher
        confirms); raises MessagingUnavailable when it could not be sent."""
        try:
            self._client().cast({}, 'perform_job', job_id=job_id)
        except exception.MessagingUnavailable:
            raise
        except Exception as exc:  # MessageDeliveryFailure, kombu's OperationalError...
            raise exception.MessagingUnavailable(reason='%s: %s' % (type(exc).__name__, exc)) from exc

    def ping(self, token: str, timeout: float) -> dict[str, Any]:
        import oslo_messaging
        try:
            answer: dict[str, Any] = self._client(timeout).call({}, 'ping', token=token)
            return answer
        except oslo_messaging.MessagingTimeout:
            raise exception.EngineTimeout(timeout=timeout) from None
        except exception.MessagingUnavailable:
            raise
        except Exception as exc:
            raise exception.MessagingUnavailable(reason='%s: %s' % (type(exc).__name__, exc)) from exc

    def probe(self, token: str) -> None:
        try:
            self._client().cast({}, 'probe', token=token)
        except exception.MessagingUnavailable:
            raise
        except Exception as exc:
            raise exception.MessagingUnavailable(reason='%s: %s' % (type(exc).__name__, exc)) from exc

    def digest(self, item: objects.Item, delay: float = 0.0) -> dict[str, Any]:
        """Call: the engine's digest of ``item`` (sent as a versioned object)."""
        import oslo_messaging
        timeout = CONF.rpc_response_timeout
        try:
            digest: dict[str, Any] = self._client(timeout).call({}, 'digest', item=item, delay=delay)
            return digest
        except oslo_messaging.MessagingTimeout:
            raise exception.EngineTimeout(timeout=timeout) from None
        except oslo_messaging.RemoteError:
            raise  # the engine failed: a 500 with the cause in the log
        except exception.MessagingUnavailable:
            raise
        except Exception as exc:  # MessageDeliveryFailure, kombu's OperationalError...
            raise exception.MessagingUnavailable(reason='%s: %s' % (type(exc).__name__, exc)) from exc


_SERIALIZER = serializer()


def notify_raw(event_type: str, payload: dict[str, Any]) -> None:
    """Emit ``event_type`` with a plain payload; raises MessagingUnavailable."""
    try:
        notifier = messaging.notifier(CONF, publisher_id='apollo-api.%s' % os.uname().nodename,
                                      serializer=_SERIALIZER)
        notifier.prepare(retry=SEND_RETRY).info({}, event_type, payload)
    except messaging.MessagingConfigError as exc:
        raise exception.MessagingUnavailable(reason=str(exc)) from exc


def notify(event_type: str, item: dict[str, Any]) -> None:
    """Emit ``event_type`` with the item as payload; never fails the request
    (notifications are a trail, not the transaction: docs/framework.md)."""
    if not CONF.transport_url:
        return
    try:
        notifier = messaging.notifier(CONF, publisher_id='apollo-api.%s' % os.uname().nodename,
                                      serializer=_SERIALIZER)
        notifier.prepare(retry=SEND_RETRY).info({}, event_type, objects.Item.from_dict(item))
    except Exception as exc:  # the change is committed; say what was not sent
        LOG.error('Notification %s of item %s not sent: %s', event_type, item.get('id'), exc)
