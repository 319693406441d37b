"""Vega's options: oslo-config-generator lists them (the vega namespace)."""
from vega.conf import service


def list_opts():
    return [("DEFAULT", service.service_opts)]
