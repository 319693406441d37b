"""A test's WSGI file: never an application of the package."""
application = None
