"""Start-up steps shared by every phoenix entry point.

``configure()`` turns the command line and config files into ``CONF`` and sets
up logging; ``setup_backends()`` loads what the service needs before it forks
(schemas, drivers) and then builds the services.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable, Sequence

from oslo_config import cfg
from oslo_log import log

import phoenix.conf

CONF = phoenix.conf.CONF
LOG = log.getLogger(__name__)


def _register_log_options(conf: cfg.ConfigOpts) -> None:
    try:
        log.register_options(conf)
    except cfg.DuplicateOptError:
        pass
    except cfg.ArgsAlreadyParsedError:
        pass


def configure(version: str | None = None, config_files: Sequence[str] | None = None,
              pre_setup_logging_fn: Callable[[], None] = lambda: None,
              args: Sequence[str] | None = None,
              project: str | None = None) -> cfg.ConfigOpts:
    """Register options, parse ``args`` (sys.argv by default) and set up logging.

    ``config_files`` are the *default* config files (the development config of
    a checkout): oslo.config uses them only when the command line has no
    ``--config-file``, which is exactly the precedence we want.
    """
    project = project or os.environ.get('PROJECT_NAME', 'phoenix')
    phoenix.conf.configure(project=project)
    _register_log_options(CONF)
    # Logs go to stderr (the journal under systemd) unless a log file is set.
    CONF.set_default('use_stderr', True)
    CONF(list(sys.argv[1:] if args is None else args), project=project,
         version=version, default_config_files=list(config_files or []))
    pre_setup_logging_fn()
    # oslo.log's own default when no version is known (its parameter is a str)
    log.setup(CONF, project, version=version if version is not None else 'unknown')
    logging.captureWarnings(True)
    CONF.log_opt_values(LOG, logging.DEBUG)  # shown with debug = true
    return CONF


def reload_config() -> None:
    """Re-read the config files into CONF and apply the new log level.

    Every option may change (workers are re-forked with the new values); oslo's
    mutate machinery would keep non-mutable options, so we reload outright.
    """
    if not CONF.reload_config_files():
        raise RuntimeError('could not re-read %s (see the warning above)'
                           % ', '.join(CONF.config_file or ['the config files']))
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if CONF.debug else logging.INFO)
    LOG.info('Configuration reloaded from %s', ', '.join(CONF.config_file))
    CONF.log_opt_values(LOG, logging.DEBUG)


def setup_backends(load_extra_backends_fn: Callable[[], Any] = lambda: {},
                   startup_application_fn: Callable[[], Any] = lambda: None
                   ) -> tuple[Any, Any]:
    """Load backends in the parent, then build the application/services.

    Returns ``(backends, startup_application_fn())``.
    """
    backends = load_extra_backends_fn()
    result = startup_application_fn()
    return backends, result
