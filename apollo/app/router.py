"""URL map of the apollo API (paste app ``apollo.app.router:APIRouter.factory``)."""
from __future__ import annotations

from typing import Any

from apollo.app import actions, items, versions
from phoenix import wsgi

READ = {'method': ['GET', 'HEAD']}


class APIRouter(wsgi.Router):
    @classmethod
    def factory(cls, global_config: dict[str, Any], **local_config: str) -> APIRouter:
        return cls()

    def __init__(self, items_controller: Any = None) -> None:
        mapper = wsgi.APIMapper()
        version_resource = wsgi.Resource(versions.VersionsController())
        mapper.connect('/', controller=version_resource, action='index', conditions=READ)
        for path in ('/v1', '/v1/'):
            mapper.connect(path, controller=version_resource, action='show_v1',
                           conditions=READ)
        item_resource = wsgi.Resource(items_controller or items.ItemsController())
        collection, member = '/v1/items', '/v1/items/{item_id}'
        for path, method, action in (
                (collection, ['GET', 'HEAD'], 'index'),
                (collection, ['POST'], 'create'),
                (member, ['GET', 'HEAD'], 'show'),
                (member, ['PUT'], 'update'),
                (member, ['PATCH'], 'patch'),
                (member, ['DELETE'], 'delete')):
            mapper.connect(path, controller=item_resource, action=action,
                           conditions={'method': method})
        mapper.connect(member + '/actions', controller=wsgi.Resource(actions.ActionsController()),
                       action='create', conditions={'method': ['POST']})
        mapper.connect('/v1/jobs/{job_id}', controller=wsgi.Resource(actions.JobsController()),
                       action='show', conditions=READ)
        mapper.connect('/v1/audit', controller=wsgi.Resource(actions.AuditController()),
                       action='index', conditions=READ)
        mapper.connect('/v1/bus/probe', controller=wsgi.Resource(actions.BusController()),
                       action='probe', conditions=READ)
        super().__init__(mapper)
