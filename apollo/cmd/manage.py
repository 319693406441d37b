"""apollo-manage: admin commands (not a service).

    apollo-manage db sync      [--config-file F]   create or migrate the schema
    apollo-manage db version   [--config-file F]   print the schema version
    apollo-manage config check [--config-file F]   validate config + paste pipeline

Exit status: 0 ok, 2 with one line naming the problem, 1 for a failed command.
"""
from __future__ import annotations

# Eventlet first, like every entry point: the paste pipeline that
# 'config check' loads imports eventlet, and must see the same patched world
# the services do.
from phoenix.common import patching  # noqa: E402

patching.patch_for()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from typing import TYPE_CHECKING, Sequence  # noqa: E402

if TYPE_CHECKING:
    from oslo_config import cfg


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's default must not erase options given before it.
    common.add_argument('--config-file', action='append', default=argparse.SUPPRESS,
                        metavar='PATH', help='config file (repeatable)')
    common.add_argument('--config-dir', action='append', default=argparse.SUPPRESS,
                        metavar='DIR', help='directory of *.conf files')
    parser = argparse.ArgumentParser(prog='apollo-manage', parents=[common])
    categories = parser.add_subparsers(dest='category', required=True)
    db_parser = categories.add_parser('db', help='database schema')
    db_actions = db_parser.add_subparsers(dest='action', required=True)
    db_actions.add_parser('sync', parents=[common], help='create or migrate the schema')
    db_actions.add_parser('version', parents=[common], help='print the schema version')
    config_parser = categories.add_parser('config', help='configuration')
    config_actions = config_parser.add_subparsers(dest='action', required=True)
    config_actions.add_parser('check', parents=[common],
                              help='validate the config files and the paste pipeline')
    return parser


class Failure(Exception):
    """One line for stderr, and an exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _load_config(files: list[str], dirs: list[str]) -> cfg.ConfigOpts:
    from oslo_config import cfg

    from phoenix.common import utils
    from phoenix.server import common
    for path in files:
        if not os.path.isfile(path):
            raise Failure('config file %s does not exist' % path)
    args: list[str] = []
    for path in files:
        args += ['--config-file', path]
    for path in dirs:
        args += ['--config-dir', path]
    default_files = None if files or dirs else utils.dev_config_files()
    try:
        conf = common.configure(config_files=default_files, args=args, project='apollo')
        _touch_every_option(conf)
    except cfg.Error as exc:
        raise Failure('%s' % str(exc).strip().splitlines()[0]) from exc
    return conf


def _touch_every_option(conf: cfg.ConfigOpts) -> None:
    """oslo.config checks a value's type when it is read: read them all."""
    for name in list(conf):
        value = conf[name]
        if hasattr(value, '__iter__') and hasattr(value, '_group'):  # GroupAttr
            for sub in list(value):
                value[sub]


def cmd_config_check(conf: cfg.ConfigOpts) -> int:
    from phoenix import wsgi
    from phoenix.server import eventlet as eventlet_server
    for kind in eventlet_server.WORKER_KINDS:
        try:
            eventlet_server.get_workers(conf, kind)
        except eventlet_server.WorkerConfigError as exc:
            raise Failure(str(exc)) from exc
    if conf.transport_url:
        from phoenix.server import messaging
        try:
            messaging.check_transport_url(conf)
        except messaging.MessagingConfigError as exc:
            raise Failure(str(exc)) from exc
    try:
        paste = wsgi.find_paste_config(conf)
        wsgi.load_app(paste, 'main')
    except wsgi.PasteConfigError as exc:
        raise Failure(str(exc)) from exc
    print('OK: %s; paste pipeline %s loads; ports %s' % (
        ', '.join(conf.config_file) or '(defaults)', paste,
        ','.join(str(p) for p in conf.port)))
    return 0


def cmd_db_sync(conf: cfg.ConfigOpts) -> int:
    from apollo import exception
    from apollo.common import db
    try:
        before, after = db.sync_schema(conf)
    except exception.StorageUnavailable as exc:
        raise Failure(str(exc), status=1) from exc
    print('Database %s at schema version %d (was %d)' % (conf.database_file, after, before))
    return 0


def cmd_db_version(conf: cfg.ConfigOpts) -> int:
    from apollo import exception
    from apollo.common import db
    storage = db.storage_from_conf(conf)
    try:
        print(storage.version())
    except exception.StorageUnavailable as exc:
        raise Failure(str(exc), status=1) from exc
    finally:
        storage.close()
    return 0


COMMANDS = {('db', 'sync'): cmd_db_sync, ('db', 'version'): cmd_db_version,
            ('config', 'check'): cmd_config_check}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    from phoenix.common import utils
    utils.init_env('apollo')
    try:
        conf = _load_config(getattr(args, 'config_file', []),
                            getattr(args, 'config_dir', []))
        return COMMANDS[(args.category, args.action)](conf)
    except Failure as exc:
        print('apollo-manage: error: %s' % exc, file=sys.stderr)
        return exc.status


if __name__ == '__main__':
    sys.exit(main())
