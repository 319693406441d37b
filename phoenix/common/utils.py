"""Process environment of a phoenix service.

``init_env()`` is the first call of every entry point after eventlet patching:
later steps (the development config lookup, the paste config search) read the
paths it exports instead of guessing them again.
"""
from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Mapping


def _caller_project() -> str:
    """Top-level package of the module that called init_env()."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            module: str = frame.f_globals.get('__name__', '')
            spec = frame.f_globals.get('__spec__')
            if module == '__main__' and spec is not None:
                module = spec.name
            top = module.split('.')[0]
            if top and top not in ('phoenix', '__main__', 'importlib'):
                return top
            frame = frame.f_back
    finally:
        del frame
    return os.path.basename(sys.argv[0]).split('-')[0]


def init_env(project_name: str | None = None) -> dict[str, str]:
    """Export PROJECT_NAME, PROJECT_DIR, POSSIBLE_TOPDIR, PROJECT_APP_DIR and
    PROJECT_CONF_DIR for the running service and return them.

    POSSIBLE_TOPDIR is the directory above the project package: a source
    checkout there holds ``etc/<project>/``; once installed it is
    site-packages, where no ``etc`` exists and ``--config-file`` is used.
    """
    name = project_name or _caller_project()
    package = importlib.import_module(name)
    if package.__file__ is None:
        # a namespace package has no folder of its own to find etc/ from
        raise ImportError('%s is a namespace package; init_env() needs a package '
                          'with an __init__.py' % name)
    project_dir = os.path.dirname(os.path.abspath(package.__file__))
    topdir = os.path.normpath(os.path.join(project_dir, os.pardir))
    dev_conf_dir = os.path.join(topdir, 'etc', name)
    conf_dir = dev_conf_dir if os.path.isdir(dev_conf_dir) else os.path.join('/etc', name)
    env = {
        'PROJECT_NAME': name,
        'PROJECT_DIR': project_dir,
        'POSSIBLE_TOPDIR': topdir,
        'PROJECT_APP_DIR': os.path.join(project_dir, 'app'),
        'PROJECT_CONF_DIR': conf_dir,
    }
    os.environ.update(env)
    # The service runs from a read-only tree under systemd (ProtectSystem=strict).
    sys.dont_write_bytecode = True
    return env


def dev_config_files(env: dict[str, str] | None = None) -> list[str] | None:
    """The development config of a checkout, or None when installed.

    Looks for ``$POSSIBLE_TOPDIR/etc/$PROJECT_NAME.conf`` (the historical
    place) and ``$POSSIBLE_TOPDIR/etc/$PROJECT_NAME/$PROJECT_NAME.conf``.
    """
    values: Mapping[str, str] = env or os.environ
    name, topdir = values['PROJECT_NAME'], values['POSSIBLE_TOPDIR']
    for candidate in (os.path.join(topdir, 'etc', '%s.conf' % name),
                      os.path.join(topdir, 'etc', name, '%s.conf' % name)):
        if os.path.exists(candidate):
            return [candidate]
    return None
