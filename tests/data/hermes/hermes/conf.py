"""Hermes' options (oslo.config) and how the processes read them.

``CONF(project="hermes")`` reads /etc/hermes/hermes.conf and then the
drop-ins of /etc/hermes/hermes.conf.d/ (oslo.config's defaults for a
project), the way OpenStack services find theirs.
"""
from oslo_config import cfg

CONF = cfg.CONF
CONF.register_opts([cfg.StrOpt("transport_url", secret=True, help="RabbitMQ: rabbit://user:pw@host:port/vhost")])
CONF.register_opts([cfg.StrOpt("connection", secret=True, help="mysql+pymysql://user:pw@host/db")],
                   group="database")
CONF.register_opts([cfg.HostAddressOpt("bind_host", default="127.0.0.1"),
                    cfg.PortOpt("port", default=8795)], group="api")
CONF.register_opts([cfg.IntOpt("workers", default=2, min=1),
                    cfg.StrOpt("handler", default="hermes.handlers:store",
                               help="module:function called for every message")], group="worker")


def load(argv=None):
    CONF(argv if argv is not None else [], project="hermes")
    return CONF
