"""Configuration of a phoenix service: one global oslo.config object.

``configure()`` registers the command-line options, the framework's defaults
and the service's own options (the ``<project>.conf`` package, found through
PROJECT_NAME) on ``CONF``. It is idempotent so tests may call it repeatedly.
"""
from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Iterable

from oslo_config import cfg

from phoenix.conf import opts

CONF = cfg.CONF


def _register(conf: cfg.ConfigOpts, register: Callable[[cfg.Opt], Any],
              opt_list: Iterable[cfg.Opt]) -> None:
    for opt in opt_list:
        try:
            register(opt)
        except cfg.DuplicateOptError:
            pass


def register_service_opts(conf: cfg.ConfigOpts, project: str | None) -> None:
    """Register ``<project>.conf.register_opts(conf)`` if the project has it."""
    if not project:
        return
    try:
        module = importlib.import_module('%s.conf' % project)
    except ImportError:
        return
    register = getattr(module, 'register_opts', None)
    if register is not None:
        register(conf)


def configure(conf: cfg.ConfigOpts | None = None, path: str | None = None,
              project: str | None = None) -> cfg.ConfigOpts:
    """Register CLI, default and service options on ``conf`` (CONF by default).

    ``path`` is accepted for compatibility with the historical signature and
    names a paste file to use instead of ``api_paste_config``.
    """
    if conf is None:
        conf = CONF
    for opt in opts.cli_opts:
        try:
            conf.register_cli_opt(opt)
        except (cfg.DuplicateOptError, cfg.ArgsAlreadyParsedError):
            pass  # registered before, or CONF already parsed (tests)
    _register(conf, conf.register_opt, opts.server_opts)
    _register(conf, conf.register_opt, opts.messaging_opts())
    # No transport unless configured (see opts.messaging_opts).
    conf.set_default('transport_url', None)
    register_service_opts(conf, project or os.environ.get('PROJECT_NAME'))
    if path:
        conf.set_default('api_paste_config', path)
    return conf
