"""vega-api: the development server (wsgiref); production runs vega/api/app.wsgi under uWSGI."""
from wsgiref import simple_server

from vega.api import app


def main() -> None:
    simple_server.make_server("", 8795, app.load()).serve_forever()
