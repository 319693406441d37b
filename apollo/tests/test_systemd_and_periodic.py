"""sd_notify over a real unix datagram socket; the periodic manager's work."""
from __future__ import annotations

import json
import socket
import time

import pytest

from apollo.common import db
from apollo.server.periodic import PeriodicManager
from phoenix.server import systemd


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / 'notify')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    monkeypatch.setenv('NOTIFY_SOCKET', path)
    yield sock
    sock.close()


def test_notify_sends_the_state(notify_socket):
    assert systemd.notify('READY=1') is True
    assert notify_socket.recv(1024) == b'READY=1'


def test_notify_abstract_socket(monkeypatch):
    name = 'phoenix-test-%d' % time.monotonic_ns()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind('\0' + name)
    sock.settimeout(2)
    monkeypatch.setenv('NOTIFY_SOCKET', '@' + name)
    try:
        assert systemd.notify('STOPPING=1')
        assert sock.recv(1024) == b'STOPPING=1'
    finally:
        sock.close()


def test_notify_without_systemd_is_a_no_op(monkeypatch):
    monkeypatch.delenv('NOTIFY_SOCKET', raising=False)
    assert systemd.notify('READY=1') is False


def test_watchdog_interval(monkeypatch):
    monkeypatch.setenv('WATCHDOG_USEC', '4000000')
    monkeypatch.delenv('WATCHDOG_PID', raising=False)
    assert systemd.watchdog_interval() == 2.0
    monkeypatch.setenv('WATCHDOG_PID', '1')  # meant for another process
    assert systemd.watchdog_interval() is None
    monkeypatch.delenv('WATCHDOG_USEC')
    assert systemd.watchdog_interval() is None


def test_periodic_manager_expires_items_and_writes_a_snapshot(conf, tmp_path):
    db.sync_schema(conf)
    storage = db.storage_from_conf(conf)
    storage.create('old', 1, time.time() - 10)
    keep = storage.create('keep', {'x': 1}, None)
    manager = PeriodicManager(conf)
    idle = manager.run_periodic_tasks()
    assert idle == conf.periodic_interval
    assert [item['name'] for item in storage.all()] == ['keep']
    with open(conf.snapshot_file) as handle:
        snapshot = json.load(handle)
    assert snapshot['count'] == 1
    assert snapshot['expired_last_run'] == 1
    assert snapshot['items'][0]['id'] == keep['id']
