"""The ``/v1/items`` resource: named JSON values with an optional expiry.

Wire shapes (docs/framework.md has the full contract)::

    POST /v1/items      {"item": {"name": "a", "value": {...}, "expires_at": "...Z"}}
    -> 201 {"item": {"id", "name", "value", "expires_at", "created_at", "updated_at"}}
"""
from __future__ import annotations

import re
from typing import Any

from oslo_config import cfg

from apollo import exception
from apollo.common import db, rpc, timeutils
from phoenix import wsgi

CONF = cfg.CONF

ID_PATTERN = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
WRITABLE = ('name', 'value', 'expires_at')
READ_ONLY = ('id', 'created_at', 'updated_at')
MAX_NAME = 255


def view(item: dict[str, Any]) -> dict[str, Any]:
    return {'id': item['id'], 'name': item['name'], 'value': item['value'],
            'expires_at': timeutils.to_iso(item['expires_at']),
            'created_at': timeutils.to_iso(item['created_at']),
            'updated_at': timeutils.to_iso(item['updated_at'])}


def _unwrap(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and set(body) == {'item'}:
        body = body['item']
    if not isinstance(body, dict):
        raise exception.InvalidItem('The body must be a JSON object: '
                                    '{"item": {"name": ..., "value": ...}}.')
    return body


def validate(body: Any, partial: bool) -> dict[str, Any]:
    """The writable fields of ``body``, checked; raises InvalidItem naming the field."""
    fields = _unwrap(body)
    for key in fields:
        if key in READ_ONLY:
            raise exception.InvalidItem('Field %r is read-only.' % key)
        if key not in WRITABLE:
            raise exception.InvalidItem('Unknown field %r; items have %s.'
                                        % (key, ', '.join(WRITABLE)))
    clean: dict[str, Any] = {}
    if 'name' in fields or not partial:
        name = fields.get('name')
        if not isinstance(name, str) or not name.strip():
            raise exception.InvalidItem('Field "name" must be a non-empty string.')
        if len(name) > MAX_NAME:
            raise exception.InvalidItem('Field "name" is longer than %d characters.' % MAX_NAME)
        if any(ord(ch) < 32 for ch in name):
            raise exception.InvalidItem('Field "name" must not contain control characters.')
        try:
            name.encode('utf-8')
        except UnicodeEncodeError:
            raise exception.InvalidItem('Field "name" must be valid Unicode '
                                        '(no lone surrogates).') from None
        clean['name'] = name
    if 'value' in fields or not partial:
        clean['value'] = fields.get('value')
    if 'expires_at' in fields or not partial:
        expires = fields.get('expires_at')
        if expires is not None:
            if not isinstance(expires, str):
                raise exception.InvalidItem('Field "expires_at" must be an ISO 8601 '
                                            'timestamp string or null.')
            try:
                expires = timeutils.parse_iso(expires)
            except ValueError as exc:
                raise exception.InvalidItem('Field "expires_at": %s.' % exc) from exc
        clean['expires_at'] = expires
    return clean


def _check_id(item_id: str) -> str:
    # Ids are UUIDs: anything else (path tricks included) cannot exist.
    if not ID_PATTERN.match(item_id):
        raise exception.ItemNotFound(item_id=item_id[:64])
    return item_id


class StorageController:
    """A controller over apollo's store, opened on first use: the paste app is
    loaded in the parent before the workers fork, and an SQLite connection
    must not cross a fork."""

    def __init__(self, storage: db.Storage | None = None) -> None:
        self._storage = storage

    @property
    def storage(self) -> db.Storage:
        if self._storage is None:  # lazily: the app is loaded before fork
            self._storage = db.storage_from_conf()
        return self._storage


class ItemsController(StorageController):
    """Create, read, update, delete and list items."""

    def index(self, request: wsgi.Request) -> dict[str, Any]:
        params = request.GET
        limit_text = params.get('limit', str(CONF.max_list_limit))
        try:
            limit = int(limit_text)
        except ValueError:
            raise exception.InvalidItem('Query "limit" must be an integer.') from None
        if limit < 1:
            raise exception.InvalidItem('Query "limit" must be at least 1.')
        limit = min(limit, CONF.max_list_limit)
        marker = params.get('marker')
        if marker is not None and not ID_PATTERN.match(marker):
            raise exception.InvalidItem('Query "marker" must be an item id.')
        items = self.storage.list(limit + 1, marker=marker, name=params.get('name'))
        more = len(items) > limit
        items = items[:limit]
        return {'items': [view(item) for item in items],
                'next_marker': items[-1]['id'] if more else None}

    @wsgi.response(201)
    def create(self, request: wsgi.Request, body: Any) -> Any:
        fields = validate(body, partial=False)
        item = self.storage.create(fields['name'], fields['value'], fields['expires_at'])
        rpc.notify('item.create.end', item)
        result = wsgi.JSONResponseSerializer().serialize(request, {'item': view(item)}, 201)
        result.headers['Location'] = '%s/v1/items/%s' % (request.application_url, item['id'])
        return result

    def show(self, request: wsgi.Request, item_id: str) -> dict[str, Any]:
        return {'item': view(self.storage.get(_check_id(item_id)))}

    def update(self, request: wsgi.Request, item_id: str, body: Any) -> dict[str, Any]:
        """PUT: replace every writable field (missing ones reset to defaults)."""
        _check_id(item_id)
        fields = validate(body, partial=False)
        item = self.storage.update(item_id, fields)
        rpc.notify('item.update.end', item)
        return {'item': view(item)}

    def patch(self, request: wsgi.Request, item_id: str, body: Any) -> dict[str, Any]:
        """PATCH: change only the fields given."""
        _check_id(item_id)
        fields = validate(body, partial=True)
        item = self.storage.update(item_id, fields)
        rpc.notify('item.update.end', item)
        return {'item': view(item)}

    @wsgi.response(204)
    def delete(self, request: wsgi.Request, item_id: str) -> None:
        item = self.storage.get(_check_id(item_id))
        self.storage.delete(item_id)
        rpc.notify('item.delete.end', item)
