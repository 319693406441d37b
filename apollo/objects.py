"""Versioned objects that cross the message bus (docs/framework.md, "Start-up path":
``objects.register_all()`` runs in every entry point before the server).

An ``Item`` travels as an oslo.versionedobjects primitive (name, version,
fields), so an RPC worker or notification listener of another release can
tell which version it got. ``ApolloObjectSerializer`` is the serializer the
RPC server, the RPC client and the notifier use (docs/framework.md,
"Messaging").
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from oslo_versionedobjects import base, fields

REGISTERED: list[type] = []

if TYPE_CHECKING:
    # Typed releases of oslo.versionedobjects make these Generic; older ones
    # (a distribution's, in system install mode) are not subscriptable at run time.
    _FieldType = fields.FieldType[Any]
    _AutoTypedField = fields.AutoTypedField[Any]
else:
    _FieldType = fields.FieldType
    _AutoTypedField = fields.AutoTypedField


class _JSONValue(_FieldType):
    """Any JSON value (an item's ``value``): checked to be JSON, sent as is."""

    def coerce(self, obj: Any, attr: str, value: Any) -> Any:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError('%s.%s must be a JSON value: %s' % (obj.obj_name(), attr, exc)) from exc
        return value


class JSONField(_AutoTypedField):
    AUTO_TYPE = _JSONValue()


class ApolloObject(base.VersionedObject):
    """Base of apollo's objects: their own namespace on the wire."""

    OBJ_PROJECT_NAMESPACE = 'apollo'
    OBJ_SERIAL_NAMESPACE = 'apollo_object'


class Item(ApolloObject, base.VersionedObjectDictCompat):
    """A named JSON value (the rows of /v1/items; times in epoch seconds)."""

    if TYPE_CHECKING:
        # The fields below as attributes (oslo's registry makes them properties at run time).
        id: str
        name: str
        value: Any
        expires_at: float | None
        created_at: float
        updated_at: float

    # Version 1.0: initial version
    VERSION = '1.0'
    fields = {
        'id': fields.UUIDField(),
        'name': fields.StringField(),
        'value': JSONField(nullable=True),
        'expires_at': fields.FloatField(nullable=True),
        'created_at': fields.FloatField(),
        'updated_at': fields.FloatField(),
    }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Item:
        obj = cls(**{key: item[key] for key in cls.fields})
        obj.obj_reset_changes()
        return obj

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.fields}


class ApolloObjectSerializer(base.VersionedObjectSerializer):
    """Serializes apollo's objects (and only those) over oslo.messaging."""

    OBJ_BASE_CLASS = ApolloObject


def register_all() -> list[type]:
    """Register apollo's objects with oslo.versionedobjects (idempotent)."""
    if not REGISTERED:
        for cls in (Item,):
            base.VersionedObjectRegistry.register(cls)
            REGISTERED.append(cls)
    return REGISTERED
