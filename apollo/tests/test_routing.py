"""phoenix.wsgi.Router over Routes: dispatch, 404 and 405 as JSON."""
from __future__ import annotations

import json

import webob

from phoenix import wsgi


class EchoController:
    def show(self, request, thing_id):
        return {'thing': thing_id}

    @wsgi.response(201)
    def create(self, request, body):
        return {'created': body}

    @wsgi.response(204)
    def delete(self, request, thing_id):
        return None

    def _private(self, request):
        return {'leak': True}


def make_router() -> wsgi.Router:
    mapper = wsgi.APIMapper()
    resource = wsgi.Resource(EchoController())
    mapper.connect('/things/{thing_id}', controller=resource, action='show',
                   conditions={'method': ['GET']})
    mapper.connect('/things/{thing_id}', controller=resource, action='delete',
                   conditions={'method': ['DELETE']})
    mapper.connect('/things', controller=resource, action='create',
                   conditions={'method': ['POST']})
    mapper.connect('/secret', controller=resource, action='_private',
                   conditions={'method': ['GET']})
    return wsgi.Router(mapper)


def call(router, path, method='GET', body=None):
    request = webob.Request.blank(path, method=method)
    if body is not None:
        request.body = body
    return request.get_response(router)


def test_dispatches_route_variables_to_the_controller_method():
    response = call(make_router(), '/things/abc')
    assert response.status_int == 200
    assert response.json == {'thing': 'abc'}
    assert response.content_type == 'application/json'


def test_status_from_response_decorator():
    router = make_router()
    created = call(router, '/things', 'POST', b'{"a": 1}')
    assert created.status_int == 201
    assert created.json == {'created': {'a': 1}}
    deleted = call(router, '/things/x', 'DELETE')
    assert deleted.status_int == 204
    assert deleted.body == b''


def test_unknown_path_is_json_404():
    response = call(make_router(), '/nowhere')
    assert response.status_int == 404
    assert response.json['error']['code'] == 404
    assert '/nowhere' in response.json['error']['message']


def test_wrong_method_is_json_405_with_allow():
    response = call(make_router(), '/things/x', 'PUT')
    assert response.status_int == 405
    assert response.headers['Allow'] == 'DELETE, GET'
    assert response.json['error']['title'] == 'Method Not Allowed'


def test_private_controller_methods_are_not_reachable():
    response = call(make_router(), '/secret')
    assert response.status_int == 404
    assert 'leak' not in response.text


def test_body_rules():
    router = make_router()
    missing = call(router, '/things', 'POST')
    assert missing.status_int == 400
    assert 'empty' in missing.json['error']['message']
    bad_utf8 = call(router, '/things', 'POST', b'{"a": "\xff"}')
    assert bad_utf8.status_int == 400 and 'UTF-8' in bad_utf8.json['error']['message']
    not_json = call(router, '/things', 'POST', b'{"a": ')
    assert not_json.status_int == 400 and 'JSON' in not_json.json['error']['message']
    nan = call(router, '/things', 'POST', b'{"a": NaN}')
    assert nan.status_int == 400
    unexpected = call(router, '/things/x', 'GET', b'{}')
    assert unexpected.status_int == 400


def test_unexpected_exception_is_json_500_without_traceback():
    class Broken:
        def show(self, request):
            raise RuntimeError('secret internals')
    mapper = wsgi.APIMapper()
    mapper.connect('/', controller=wsgi.Resource(Broken()), action='show')
    response = call(wsgi.Router(mapper), '/')
    assert response.status_int == 500
    body = json.loads(response.body)
    assert body['error']['code'] == 500
    assert 'secret internals' not in response.text
    assert 'Traceback' not in response.text
