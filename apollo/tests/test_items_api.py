"""The apollo API through its real paste pipeline (etc/apollo/api-paste.ini),
called in-process with WebOb requests."""
from __future__ import annotations

import json
import os

import pytest
import webob

from apollo.tests.conftest import PASTE_INI
from phoenix import wsgi


@pytest.fixture
def app(conf):
    return wsgi.load_app(PASTE_INI, 'main')


def call(app, path, method='GET', body=None, **headers):
    request = webob.Request.blank(path, method=method, headers=headers)
    if body is not None:
        request.body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request.get_response(app)


def test_versions_lists_v1_with_links_from_the_request(app):
    response = call(app, 'http://api.example:8780/')
    assert response.status_int == 200
    version = response.json['versions'][0]
    assert version['id'] == 'v1'
    assert version['links'][0]['href'] == 'http://api.example:8780/v1/'


def test_versions_links_follow_public_endpoint(app, conf):
    conf.set_override('public_endpoint', 'https://apollo.example.org/')
    try:
        response = call(app, '/')
    finally:
        conf.clear_override('public_endpoint')
    assert response.json['versions'][0]['links'][0]['href'] == 'https://apollo.example.org/v1/'


def test_item_lifecycle(app):
    created = call(app, '/v1/items', 'POST', {'item': {'name': 'alpha', 'value': {'n': 1}}})
    assert created.status_int == 201
    item = created.json['item']
    assert created.headers['Location'].endswith('/v1/items/%s' % item['id'])
    assert item['name'] == 'alpha' and item['value'] == {'n': 1}
    assert item['expires_at'] is None

    shown = call(app, '/v1/items/%s' % item['id'])
    assert shown.json['item'] == item

    patched = call(app, '/v1/items/%s' % item['id'], 'PATCH', {'value': [1, 2]})
    assert patched.status_int == 200
    assert patched.json['item']['value'] == [1, 2]
    assert patched.json['item']['name'] == 'alpha'

    replaced = call(app, '/v1/items/%s' % item['id'], 'PUT',
                    {'name': 'beta', 'expires_at': '2030-01-01T00:00:00Z'})
    assert replaced.json['item']['name'] == 'beta'
    assert replaced.json['item']['value'] is None
    assert replaced.json['item']['expires_at'].startswith('2030-01-01T00:00:00')

    listed = call(app, '/v1/items')
    assert [i['id'] for i in listed.json['items']] == [item['id']]

    assert call(app, '/v1/items/%s' % item['id'], 'DELETE').status_int == 204
    assert call(app, '/v1/items/%s' % item['id']).status_int == 404
    assert call(app, '/v1/items').json['items'] == []


def test_list_paginates_with_limit_and_marker(app):
    ids = [call(app, '/v1/items', 'POST', {'name': 'n%d' % i}).json['item']['id']
           for i in range(5)]
    first = call(app, '/v1/items?limit=2').json
    assert [i['id'] for i in first['items']] == ids[:2]
    assert first['next_marker'] == ids[1]
    rest = call(app, '/v1/items?limit=10&marker=%s' % ids[1]).json
    assert [i['id'] for i in rest['items']] == ids[2:]
    assert rest['next_marker'] is None
    by_name = call(app, '/v1/items?name=n3').json
    assert [i['id'] for i in by_name['items']] == [ids[3]]
    assert call(app, '/v1/items?limit=zero').status_int == 400


def test_duplicate_name_is_409(app):
    assert call(app, '/v1/items', 'POST', {'name': 'same'}).status_int == 201
    response = call(app, '/v1/items', 'POST', {'name': 'same'})
    assert response.status_int == 409
    assert 'same' in response.json['error']['message']


@pytest.mark.parametrize('body, fragment', [
    ({'value': 1}, 'name'),
    ({'name': 7}, 'name'),
    ({'name': ''}, 'name'),
    ({'name': 'x' * 256}, 'longer'),
    ({'name': 'ok', 'colour': 'red'}, 'Unknown field'),
    ({'name': 'ok', 'id': 'x'}, 'read-only'),
    ({'name': 'ok', 'expires_at': 5}, 'expires_at'),
    ({'name': 'ok', 'expires_at': '2030-01-01T00:00:00'}, 'time zone'),
    ([1, 2], 'JSON object'),
])
def test_invalid_items_are_400_naming_the_problem(app, body, fragment):
    response = call(app, '/v1/items', 'POST', body)
    assert response.status_int == 400
    assert fragment in response.json['error']['message']


@pytest.mark.parametrize('method, path, body', [
    ('GET', '/v1/items?name=%ff', None),                       # query not UTF-8
    ('POST', '/v1/items', b'{"name": "a\\ud800"}'),            # lone surrogate
    ('POST', '/v1/items', b'{"name": "n", "value": 1e999}'),   # infinite number
    ('POST', '/v1/items', b'{"name": "n", "value": ' + b'[' * 5000 + b']' * 5000 + b'}'),
])
def test_hostile_input_is_400_not_500(app, method, path, body):
    response = call(app, path, method, body)
    assert response.status_int == 400, response.text
    assert response.json['error']['code'] == 400


def test_malformed_and_traversal_ids_are_404(app):
    for path in ('/v1/items/not-a-uuid', '/v1/items/..%2F..%2Fetc%2Fpasswd',
                 '/v1/items/../../etc/passwd'):
        response = call(app, path)
        assert response.status_int == 404, path
        assert response.json['error']['code'] == 404


def test_body_over_the_limit_is_413(app, conf):
    conf.set_override('max_request_body_size', 1024)
    try:
        response = call(app, '/v1/items', 'POST', {'name': 'big', 'value': 'x' * 2000})
    finally:
        conf.clear_override('max_request_body_size')
    assert response.status_int == 413
    assert response.json['error']['code'] == 413


def test_unknown_method_is_405(app):
    response = call(app, '/v1/items', 'DELETE')
    assert response.status_int == 405
    assert 'POST' in response.headers['Allow']


def test_healthcheck_reports_the_state_directory(app, conf, tmp_path, monkeypatch):
    from apollo.app import healthcheck
    monkeypatch.setattr(healthcheck, 'CHECK_TTL', 0.0)
    state = tmp_path / 'state'
    state.mkdir()
    ok = call(app, '/healthcheck')
    assert ok.status_int == 200 and ok.json['status'] == 'ok'
    state.chmod(0o500)
    try:
        if os.access(str(state), os.W_OK):  # root ignores modes: remove it instead
            state.rmdir()
        bad = call(app, '/healthcheck')
    finally:
        if state.exists():
            state.chmod(0o700)
    assert bad.status_int == 503
    assert str(state) in bad.json['reason']
    # A pipeline built for another state_path (what SIGHUP does) checks that one.
    conf.set_override('state_path', str(tmp_path / 'missing'))
    rebuilt = wsgi.load_app(PASTE_INI, 'main')
    assert 'missing' in call(rebuilt, '/healthcheck').json['reason']


def test_healthcheck_result_is_reused_briefly(app, tmp_path, monkeypatch):
    from apollo.app import healthcheck
    monkeypatch.setattr(healthcheck, 'CHECK_TTL', 30.0)
    state = tmp_path / 'state'
    state.mkdir()
    assert call(app, '/healthcheck').status_int == 200
    state.rmdir()
    assert call(app, '/healthcheck').status_int == 200  # within CHECK_TTL
    monkeypatch.setattr(healthcheck, 'CHECK_TTL', 0.0)
    assert call(app, '/healthcheck').status_int == 503


def test_request_id_header(app):
    response = call(app, '/')
    assert response.headers['X-Openstack-Request-Id'].startswith('req-')


def test_storage_unusable_is_503_not_500(app, conf, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a directory')
    conf.set_override('state_path', str(blocker))
    response = call(app, '/v1/items')
    assert response.status_int == 503
    assert response.json['error']['code'] == 503
