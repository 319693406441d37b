"""What apollo's services load in the parent before forking workers."""
from __future__ import annotations

import logging

from apollo import exception
from apollo.common import db

LOG = logging.getLogger(__name__)


def load_backends() -> dict[str, object]:
    """Create or migrate the schema so ``systemctl enable --now`` needs no
    manual ``db sync``. An unusable state directory is logged, not fatal:
    the service still starts and GET /healthcheck reports 503."""
    try:
        before, after = db.sync_schema()
    except exception.StorageUnavailable as exc:
        LOG.error('%s', exc)
        return {}
    if before != after:
        LOG.info('Database schema migrated from version %d to %d', before, after)
    return {}
