"""``GET /``: the API versions, with links built from ``public_endpoint``."""
from __future__ import annotations

from typing import Any

import pbr.version
from oslo_config import cfg

from phoenix import wsgi

CONF = cfg.CONF


def _service_version() -> str:
    try:
        version: str = pbr.version.VersionInfo('apollo').version_string()
        return version
    except Exception:
        return 'unknown'


SERVICE_VERSION = _service_version()


class VersionsController:
    def _base(self, request: wsgi.Request) -> str:
        base: str = (CONF.public_endpoint or request.host_url).rstrip('/')
        return base

    def _v1(self, base: str) -> dict[str, Any]:
        return {'id': 'v1', 'status': 'CURRENT',
                'links': [{'rel': 'self', 'href': '%s/v1/' % base}],
                'resources': {'items': '%s/v1/items' % base}}

    def index(self, request: wsgi.Request) -> dict[str, Any]:
        return {'service': 'apollo', 'version': SERVICE_VERSION,
                'versions': [self._v1(self._base(request))]}

    def show_v1(self, request: wsgi.Request) -> dict[str, Any]:
        return {'version': self._v1(self._base(request))}
