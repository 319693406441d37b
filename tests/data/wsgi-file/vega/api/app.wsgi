# -*- mode: python -*-
"""Use this file for deploying the API under mod_wsgi (or uWSGI's wsgi-file)."""
from vega.api import app

application = app.load()
