"""Vega's service options: the API's address, in a module of its own (not the app's)."""
from oslo_config import cfg

service_opts = [
    cfg.HostAddressOpt("vega_api_listen", default="0.0.0.0", help="Address the API listens on."),
    cfg.IntOpt("vega_api_listen_port", default=8795, min=1, max=65535, help="Port the API listens on."),
    cfg.StrOpt("greeting", default="vega", help="What /configured expects (set by a drop-in)."),
]
