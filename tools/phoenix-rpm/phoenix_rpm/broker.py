"""The message broker a service is configured for, and whether it is local.

A service that talks to RabbitMQ cannot do its work before the broker
answers, but a unit must not *require* a broker it does not run next to: in
production the broker is usually on other hosts, and ``Wants=`` of a unit
that is not installed is only noise. So the units order after a broker only
when the packaged configuration points at this machine
(docs/packaging.md, "Message broker"):

* the shipped main config sets ``[DEFAULT] transport_url`` and every host
  of it is this machine (``localhost``, ``127.0.0.1``/``127.x``, ``::1``)
  -> ``After=`` and ``Wants=`` the broker's unit (rabbit/kombu/amqp URLs:
  ``rabbitmq-server.service``), so a boot or ``systemctl start`` brings the
  broker up first (phoenix's workers retry an unreachable broker anyway;
  this spares the journal a minute of reconnection lines);
* a remote broker, or none in the shipped file (the operator sets it on
  the host, as apollo does): only ``After=network-online.target``, which
  every generated unit has. Ordering on a broker of another host is not
  something systemd can do.

The operator's own drop-ins in ``<name>.conf.d/`` are not read: they do not
exist when the package is built. A site that runs the broker locally but
sets it only on the host adds the keys with ``[phoenix:rpm]
unit_overrides`` (docs/packaging.md).
"""
from __future__ import annotations

import configparser
import dataclasses
import ipaddress
from pathlib import Path
from typing import Any

#: transport_url scheme -> the systemd unit of its broker when local (Debian and RHEL name it alike)
BROKER_UNITS = {"rabbit": "rabbitmq-server.service", "kombu": "rabbitmq-server.service",
                "amqp": "rabbitmq-server.service"}
LOCAL_NAMES = {"localhost", "localhost.localdomain", "localhost4", "localhost6", "ip6-localhost"}


@dataclasses.dataclass(frozen=True)
class Broker:
    """The broker of the shipped configuration."""

    scheme: str
    hosts: tuple[str, ...]
    source: str       # the config file (project-relative) that names it

    @property
    def local(self) -> bool:
        return bool(self.hosts) and all(is_local(h) for h in self.hosts)

    @property
    def unit(self) -> str | None:
        """The broker's unit to order after: only for a local broker of a known kind."""
        return BROKER_UNITS.get(self.scheme) if self.local else None


def is_local(host: str) -> bool:
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_url(url: str) -> tuple[str, tuple[str, ...]]:
    """(scheme, host names) of an oslo.messaging URL: ``rabbit://u:p@h1:5672,u:p@h2:5672/vhost``."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return "", ()
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    hosts = []
    for part in netloc.split(","):
        hostport = part.rpartition("@")[2]
        if hostport.startswith("["):
            host = hostport[1:].split("]", 1)[0]
        else:
            host = hostport.split(":", 1)[0]
        if host:
            hosts.append(host)
    return scheme.split("+", 1)[0].lower(), tuple(hosts)


def transport_url(text: str) -> str | None:
    """``[DEFAULT] transport_url`` of an oslo.config file's text (None when unset or unreadable)."""
    cfg = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        cfg.read_string(text)
    except configparser.Error:
        return None  # the config's own checks report a broken file
    value = cfg.defaults().get("transport_url", "").strip()
    return value or None


def configured(plan: Any) -> Broker | None:
    """The broker named by the plan's shipped main config, or None."""
    main = getattr(plan, "main_config", None)
    source = next((f.source for f in getattr(plan, "files", []) if f.config and f.dest == main), None)
    if not main or source is None:
        return None
    path = Path(plan.project_dir) / source
    try:
        url = transport_url(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    if url is None:
        return None
    scheme, hosts = parse_url(url)
    return Broker(scheme=scheme, hosts=hosts, source=source)


def unit_keys(plan: Any, service: Any) -> list[tuple[str, str]]:
    """``After=``/``Wants=`` of the local broker for a service that reads the main config, else none."""
    broker = configured(plan)
    if broker is None or broker.unit is None:
        return []
    reads_config = plan.main_config in (service.exec_start or "") or getattr(service, "uwsgi", False)
    if not reads_config:
        return []
    return [("After", broker.unit), ("Wants", broker.unit)]


def describe(plan: Any) -> dict[str, Any] | None:
    """The broker decision for the generate stage's table and JSON (None: no transport_url shipped)."""
    found = configured(plan)
    if found is None:
        return None
    return {"scheme": found.scheme, "hosts": list(found.hosts), "source": found.source, "local": found.local,
            "units_after": found.unit}
