"""PasteDeploy factories of phoenix.wsgi: Application.factory and
Middleware.factory, loaded from a real paste file."""
from __future__ import annotations

import webob
import webob.dec

from phoenix import wsgi


class Hello(wsgi.Application):
    def __init__(self, greeting: str = 'hello') -> None:
        self.greeting = greeting

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> webob.Response:
        return webob.Response(json_body={'greeting': self.greeting})


class Stamp(wsgi.Middleware):
    """Adds a header from its paste config; answers /stop itself."""

    def process_request(self, request: wsgi.Request) -> webob.Response | None:
        if request.path_info == '/stop':
            return webob.Response(status=418)
        return None

    def process_response(self, request: wsgi.Request, response: webob.Response) -> webob.Response:
        response.headers['X-Stamp'] = self.local_config.get('stamp', '')
        return response


class Broken(wsgi.Middleware):
    def process_request(self, request: wsgi.Request) -> webob.Response | None:
        raise RuntimeError('boom')


def write_ini(tmp_path, pipeline: str) -> str:
    ini = tmp_path / 'api-paste.ini'
    ini.write_text(
        '[pipeline:main]\npipeline = %s\n\n'
        '[app:hello]\npaste.app_factory = apollo.tests.test_paste:Hello.factory\n'
        'greeting = bonjour\n\n'
        '[filter:stamp]\npaste.filter_factory = apollo.tests.test_paste:Stamp.factory\n'
        'stamp = s1\n\n'
        '[filter:broken]\npaste.filter_factory = apollo.tests.test_paste:Broken.factory\n'
        % pipeline)
    return str(ini)


def test_app_and_filter_factories_get_their_local_config(tmp_path):
    app = wsgi.load_app(write_ini(tmp_path, 'stamp hello'), 'main')
    response = webob.Request.blank('/').get_response(app)
    assert response.json == {'greeting': 'bonjour'}
    assert response.headers['X-Stamp'] == 's1'
    assert webob.Request.blank('/stop').get_response(app).status_int == 418


def test_a_failing_filter_answers_json_500(tmp_path):
    app = wsgi.load_app(write_ini(tmp_path, 'broken hello'), 'main')
    response = webob.Request.blank('/').get_response(app)
    assert response.status_int == 500
    assert response.json['error']['code'] == 500
    assert 'boom' not in response.text
