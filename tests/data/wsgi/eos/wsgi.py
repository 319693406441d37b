"""The WSGI application pbr's wsgi_scripts wraps into bin/eos-wsgi."""


def init_application():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"eos\n"]
    return app
