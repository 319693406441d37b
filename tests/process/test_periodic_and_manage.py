"""apollo-periodic and apollo-manage as real processes."""
from __future__ import annotations

import json
import signal
import sqlite3
import time

from apollo_proc import http, recv_until, run_tool, wait_for, write_config


def test_periodic_expires_items_and_writes_snapshots(start, notify_socket):
    path, sock = notify_socket
    api = start()
    past = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 60))
    soon = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 2))
    expired = http('POST', api.url('/v1/items'), {'name': 'expired', 'expires_at': past})[1]
    later = http('POST', api.url('/v1/items'), {'name': 'later', 'expires_at': soon})[1]
    keep = http('POST', api.url('/v1/items'), {'name': 'keep', 'value': [1]})[1]

    periodic = start('apollo-periodic', env={'NOTIFY_SOCKET': path}, share=api)
    recv_until(sock, 'READY=1')
    assert len(periodic.workers()) == 1
    snapshot_file = api.state / 'snapshot.json'

    def snapshot_names():
        if not snapshot_file.exists():
            return None
        names = [item['name'] for item in json.loads(snapshot_file.read_text())['items']]
        return names if names == ['keep'] else None
    wait_for(snapshot_names, 15, interval=0.2, what='a snapshot without expired items')
    rows = sqlite3.connect(str(api.state / 'apollo.sqlite')).execute(
        'SELECT id FROM items').fetchall()
    assert [r[0] for r in rows] == [keep['item']['id']]
    assert expired['item']['id'] != later['item']['id']
    # The API sees the same data: the expired item is gone.
    assert http('GET', api.url('/v1/items/%s' % expired['item']['id']))[0] == 404
    # SIGHUP: new worker with the re-read config, same main process.
    old_workers = periodic.workers()
    periodic.signal(signal.SIGHUP)
    recv_until(sock, 'READY=1')
    wait_for(lambda: len(periodic.workers()) == 1 and not (periodic.workers() & old_workers),
             10, what='the periodic worker replaced')
    assert periodic.proc.poll() is None
    assert periodic.stop() == 0
    assert 'Traceback' not in periodic.output()


def test_manage_db_sync_creates_the_schema(tmp_path):
    state = tmp_path / 'state'
    config = tmp_path / 'apollo.conf'
    write_config(config, state, [8780])
    result = run_tool('apollo-manage', 'db', 'sync', '--config-file', str(config))
    assert result.returncode == 0, result.stderr
    assert 'schema version 4' in result.stdout
    tables = sqlite3.connect(str(state / 'apollo.sqlite')).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert {('items',), ('jobs',), ('audit',)} <= set(tables)
    again = run_tool('apollo-manage', '--config-file', str(config), 'db', 'version')
    assert (again.returncode, again.stdout.strip()) == (0, '4')


def test_manage_config_check_accepts_a_good_config(tmp_path):
    config = tmp_path / 'apollo.conf'
    write_config(config, tmp_path / 'state', [8780, 8781])
    result = run_tool('apollo-manage', 'config', 'check', '--config-file', str(config))
    assert result.returncode == 0, result.stderr
    assert 'OK' in result.stdout and '8780,8781' in result.stdout


def test_manage_config_check_rejects_bad_configs_with_one_line(tmp_path):
    cases = {
        'bad_port': dict(port='8780,web'),
        'missing_paste': dict(api_paste_config='nowhere.ini'),
        'rpc_without_transport': dict(rpc_workers=2),
        'malformed_transport': dict(transport_url='rabbit://host:port/'),
    }
    expected = {'bad_port': 'port', 'missing_paste': 'api_paste_config',
                'rpc_without_transport': 'transport_url',
                'malformed_transport': 'transport_url'}
    for name, options in cases.items():
        config = tmp_path / ('%s.conf' % name)
        write_config(config, tmp_path / 'state', [8780], **options)
        result = run_tool('apollo-manage', 'config', 'check', '--config-file', str(config))
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected[name] in lines[0], (name, result.stderr)
    missing = run_tool('apollo-manage', 'config', 'check', '--config-file',
                       str(tmp_path / 'absent.conf'))
    assert missing.returncode == 2 and 'absent.conf' in missing.stderr


def test_manage_config_check_catches_a_broken_pipeline(tmp_path):
    ini = tmp_path / 'api-paste.ini'
    ini.write_text('[pipeline:main]\npipeline = nosuch apiv1\n'
                   '[app:apiv1]\npaste.app_factory = apollo.app.router:APIRouter.factory\n')
    config = tmp_path / 'apollo.conf'
    write_config(config, tmp_path / 'state', [8780], api_paste_config='api-paste.ini')
    result = run_tool('apollo-manage', 'config', 'check', '--config-file', str(config))
    assert result.returncode == 2
    assert 'nosuch' in result.stderr and len(result.stderr.strip().splitlines()) == 1
