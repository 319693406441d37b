"""Iris's options: oslo-config-generator lists them (the iris namespace)."""
from oslo_config import cfg

OPTS = [
    cfg.HostAddressOpt("relay_host", default="127.0.0.1", help="Address the relay listens on."),
    cfg.PortOpt("relay_port", default=8791, help="Port the relay listens on."),
    cfg.StrOpt("greeting", default="iris", help="What the API answers on /."),
]


API_OPTS = [
    cfg.PortOpt("bind_port", default=8790, help="Port the API (uWSGI) listens on."),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts():
    return [("DEFAULT", OPTS + API_OPTS)]
