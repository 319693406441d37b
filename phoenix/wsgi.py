"""The HTTP layer of a phoenix service: paste loading, routing, resources.

Shapes borrowed from keystone's ``common/wsgi.py`` and glance's
``Resource``/``APIMapper``: a :class:`Router` wraps Routes'
``RoutesMiddleware`` and dispatches to the ``controller`` of the match; a
:class:`Resource` calls one controller method per request with the JSON body
deserialised, serialises what it returns, and turns every error into a JSON
error body (never a traceback).
"""
from __future__ import annotations

import json
import logging
import os
from types import CodeType
from typing import Any, Callable, Iterable

import routes
import routes.middleware
import webob
import webob.dec
import webob.exc
from oslo_config import cfg

from phoenix import exception

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: the WSGI calling convention (PEP 3333), for the typed layers below
Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]

JSON_TYPE = 'application/json'
METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE')


class PasteConfigError(Exception):
    """The paste file cannot be found or its pipeline cannot be loaded."""


# -- paste ---------------------------------------------------------------------
def find_paste_config(conf: cfg.ConfigOpts | None = None) -> str:
    """Absolute path of ``api_paste_config``.

    A relative name is looked up next to each ``--config-file`` (last first),
    in ``--config-dir``, in PROJECT_CONF_DIR, then where oslo.config looks.
    """
    conf = conf or CONF
    name: str = conf.api_paste_config
    if os.path.isabs(name):
        if os.path.isfile(name):
            return name
        raise PasteConfigError('[DEFAULT] api_paste_config: %s does not exist' % name)
    candidates = [os.path.join(os.path.dirname(os.path.abspath(f)), name)
                  for f in reversed(conf.config_file or [])]
    candidates += [os.path.join(d, name) for d in (conf.config_dir or [])
                   if isinstance(d, str)]
    if os.environ.get('PROJECT_CONF_DIR'):
        candidates.append(os.path.join(os.environ['PROJECT_CONF_DIR'], name))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    found: str | None = conf.find_file(name)
    if found:
        return os.path.abspath(found)
    raise PasteConfigError(
        '[DEFAULT] api_paste_config: %s not found next to %s' %
        (name, ', '.join(conf.config_file or ['the config files (none given)'])))


def load_app(paste_config: str, name: str = 'main') -> Any:
    """Load app ``name`` from ``paste_config`` or raise PasteConfigError."""
    from paste import deploy
    try:
        return deploy.loadapp('config:%s' % os.path.abspath(paste_config), name=name)
    except Exception as exc:  # paste raises anything from LookupError to ImportError
        raise PasteConfigError('%s: cannot load the %r pipeline: %s: %s' % (
            paste_config, name, type(exc).__name__, exc)) from exc


# -- request and errors -------------------------------------------------------------
class Request(webob.Request):  # type: ignore[misc]  # webob: no types installed
    """A WebOb request that knows the JSON rules of the API."""

    def json_body(self) -> Any:
        """The body parsed as strict JSON (UTF-8, no NaN/Infinity).

        Raises BadRequest with a message naming the problem.
        """
        # Content-Type is not enforced: curl -d sends form-urlencoded, and a
        # body that does not parse gets a 400 that says so anyway.
        if self.content_length is None and \
                'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            self.is_body_readable = True  # the server de-chunks wsgi.input to EOF
        raw = self.body
        if not raw:
            raise exception.BadRequest('The request body is empty; a JSON object is required.')
        try:
            text = raw.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise exception.BadRequest('The request body is not valid UTF-8 '
                                       '(byte %d).' % exc.start) from exc
        try:
            return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except ValueError as exc:
            raise exception.BadRequest('The request body is not valid JSON: %s.' % exc) from exc
        except RecursionError:
            # '[[[[...' nested deeper than the interpreter's recursion limit
            # fits easily under max_request_body_size: a client error, not a 500.
            raise exception.BadRequest('The request body is nested too deeply.') from None


def _reject_constant(name: str) -> Any:
    raise ValueError('%s is not valid JSON' % name)


def _finite_float(text: str) -> float:
    # 1e999 parses to inf, which json.dumps would echo back as bare Infinity.
    value = float(text)
    if value in (float('inf'), float('-inf')):
        raise ValueError('number %s is out of range' % text[:40])
    return value


def json_error_response(code: int, title: str, message: str,
                        headers: Iterable[tuple[str, str]] = ()) -> webob.Response:
    """The one shape of every error the API returns."""
    body = json.dumps({'error': {'code': code, 'title': title, 'message': message}})
    response = webob.Response(body=body.encode('utf-8'), status=code,
                              content_type=JSON_TYPE, charset=None)
    for key, value in headers:
        response.headers[key] = value
    return response


def fault(exc: BaseException) -> webob.Response:
    """A JSON error response for any exception; unknown ones are a logged 500."""
    if isinstance(exc, exception.Error):
        headers = []
        if isinstance(exc, exception.MethodNotAllowed):
            headers.append(('Allow', ', '.join(exc.allowed)))
        return json_error_response(exc.code, exc.title, exc.message, headers)
    if isinstance(exc, UnicodeDecodeError):  # e.g. request.GET with %ff in it
        return json_error_response(400, 'Bad Request',
                                   'The URL or a header is not valid UTF-8.')
    if isinstance(exc, webob.exc.HTTPException):
        message = exc.explanation or exc.detail or exc.title
        headers = [(k, v) for k, v in exc.headers.items() if k.lower() == 'allow']
        return json_error_response(exc.code, exc.title, str(message), headers)
    LOG.exception('Unexpected error while handling a request')
    return json_error_response(500, 'Internal Server Error',
                               'An unexpected error occurred; see the service log.')


def response(code: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the success status of a controller method (default 200)."""
    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        func.wsgi_code = code  # type: ignore[attr-defined]
        return func
    return decorator


# -- (de)serialisation and Resource ---------------------------------------------------
class JSONRequestDeserializer:
    """Turns a request body into the ``body`` argument of a controller method."""

    def has_body(self, request: Request) -> bool:
        if request.content_length:
            return True
        return 'chunked' in request.headers.get('Transfer-Encoding', '').lower()

    def deserialize(self, request: Request, action: str) -> dict[str, Any]:
        if not self.has_body(request):
            return {}
        return {'body': request.json_body()}


class JSONResponseSerializer:
    """Turns what a controller method returns into a JSON response."""

    def to_json(self, data: Any) -> bytes:
        return json.dumps(data, separators=(',', ':'), default=str).encode('utf-8')

    def serialize(self, request: Request, result: Any, code: int) -> webob.Response:
        if result is None or code == 204:
            return webob.Response(status=code if result is None else 204,
                                  content_type=None, charset=None)
        return webob.Response(body=self.to_json(result), status=code,
                              content_type=JSON_TYPE, charset=None)


class Resource:
    """WSGI app for one controller: dispatch by the route's ``action``."""

    def __init__(self, controller: Any,
                 deserializer: JSONRequestDeserializer | None = None,
                 serializer: JSONResponseSerializer | None = None) -> None:
        self.controller = controller
        self.deserializer = deserializer or JSONRequestDeserializer()
        self.serializer = serializer or JSONResponseSerializer()

    @webob.dec.wsgify(RequestClass=Request)  # type: ignore[untyped-decorator]  # webob: no types installed
    def __call__(self, request: Request) -> webob.Response:
        args = dict(request.environ['wsgiorg.routing_args'][1])
        action = args.pop('action', None)
        args.pop('controller', None)
        args.pop('format', None)
        try:
            method = getattr(self.controller, action or '', None)
            if method is None or action.startswith('_'):
                raise exception.NotFound()
            kwargs = self.deserializer.deserialize(request, action)
            if 'body' in kwargs and 'body' not in _parameters(method):
                raise exception.BadRequest('This request takes no body.')
            if 'body' not in kwargs and 'body' in _parameters(method):
                raise exception.BadRequest('The request body is empty; a JSON object is required.')
            result = method(request, **args, **kwargs)
        except Exception as exc:
            return fault(exc)
        if isinstance(result, webob.Response):
            return result
        return self.serializer.serialize(request, result, getattr(method, 'wsgi_code', 200))


def _parameters(method: Callable[..., Any]) -> tuple[str, ...]:
    code: CodeType = getattr(method, '__code__', None) or method.__func__.__code__  # type: ignore[attr-defined]
    return code.co_varnames[:code.co_argcount]


# -- routing ----------------------------------------------------------------------------
class APIMapper(routes.Mapper):  # type: ignore[misc]  # Routes ships no types
    """A Routes mapper that also matches the empty path (glance's fix)."""

    def routematch(self, url: str | None = None, environ: Environ | None = None) -> Any:
        if url == '':
            result = self._match('', environ)
            return result[0], result[1]
        return routes.Mapper.routematch(self, url, environ)


class Router:
    """WSGI middleware that maps a request to a ``controller`` through Routes.

    An unmatched path gets a JSON 404; a path that exists with other methods
    gets a JSON 405 with ``Allow``.
    """

    def __init__(self, mapper: routes.Mapper) -> None:
        self.map = mapper
        self._router: App = routes.middleware.RoutesMiddleware(
            self._dispatch, self.map, use_method_override=False)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        return self._router(environ, start_response)

    def _allowed_methods(self, environ: Environ) -> list[str]:
        allowed = []
        path = environ.get('PATH_INFO', '')
        for method in METHODS:
            probe = dict(environ, REQUEST_METHOD=method)
            if self.map.match(path, environ=probe):
                allowed.append(method)
        return allowed

    def _dispatch(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        match = environ['wsgiorg.routing_args'][1]
        if not match:
            allowed = self._allowed_methods(environ)
            if allowed:
                error: exception.Error = exception.MethodNotAllowed(
                    'Method %s is not allowed here; use %s.'
                    % (environ.get('REQUEST_METHOD'), ', '.join(allowed)),
                    allowed=allowed)
            else:
                error = exception.NotFound('No resource at %s.' % environ.get('PATH_INFO', '/'))
            answer: App = fault(error)
            return answer(environ, start_response)
        controller: App = match['controller']
        return controller(environ, start_response)


# -- paste base classes ---------------------------------------------------------------
class Application:
    """Base of paste apps: ``[app:x] paste.app_factory = mod:Cls.factory``."""

    @classmethod
    def factory(cls, global_config: dict[str, Any], **local_config: str) -> Application:
        return cls(**local_config)


class Middleware:
    """Base of paste filters: ``paste.filter_factory = mod:Cls.factory``.

    Subclasses override ``process_request`` (return a response to answer
    early) and/or ``process_response``.
    """

    @classmethod
    def factory(cls, global_config: dict[str, Any], **local_config: str) -> Callable[[Any], Middleware]:
        def _factory(app: Any) -> Middleware:
            return cls(app, **local_config)
        return _factory

    def __init__(self, application: Any, **local_config: str) -> None:
        self.application = application
        self.local_config = local_config

    def process_request(self, request: Request) -> webob.Response | None:
        return None

    def process_response(self, request: Request, response: webob.Response) -> webob.Response:
        return response

    @webob.dec.wsgify(RequestClass=Request)  # type: ignore[untyped-decorator]  # webob: no types installed
    def __call__(self, request: Request) -> webob.Response:
        try:
            early = self.process_request(request)
        except Exception as exc:
            return fault(exc)
        if early is not None:
            return early
        response = request.get_response(self.application)
        return self.process_response(request, response)
