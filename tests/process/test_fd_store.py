"""Restart without a closed port: the listening sockets go to systemd's file
descriptor store (``FDSTORE=1``) and come back through ``LISTEN_FDS``.

``FakeStore`` plays systemd's part with the same protocol: it receives the
descriptors on the notify socket, keeps them while the old process stops and
hands them to the new one at fds 3.. with LISTEN_PID/LISTEN_FDS/
LISTEN_FDNAMES. The real systemd does this in the ops restart scenario
(tests/ops), where the unit has ``FileDescriptorStoreMax=``.
"""
from __future__ import annotations

import array
import os
import socket
import subprocess
import sys
import threading
import time

from apollo_proc import BIN, Service, answers, free_ports, listening_inodes, wait_for, write_config

from phoenix_rpm.ops import client

# Moves the stored descriptors to 3.. and execs the service with LISTEN_PID set
# to its own PID (the service ignores LISTEN_FDS meant for another process).
HAND_OVER = """
import fcntl, os, sys
given = [int(fd) for fd in sys.argv[1].split(',')]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in given]
for fd in given:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
os.environ['LISTEN_PID'] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
"""


class FakeStore:
    """The service manager's side of FDSTORE=1 / FDSTOREREMOVE=1."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.fds: dict[str, int] = {}       # name -> our copy
        self.messages: list[str] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, ancillary, _flags, _addr = self.sock.recvmsg(
                    4096, socket.CMSG_SPACE(64 * array.array('i').itemsize))
            except socket.timeout:
                continue
            fds = array.array('i')
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
            message = data.decode()
            self.messages.append(message)
            fields = dict(line.split('=', 1) for line in message.splitlines() if '=' in line)
            name = fields.get('FDNAME', 'stored')
            if fields.get('FDSTORE') == '1':
                for fd in fds:
                    if name in self.fds:   # systemd keeps one copy per socket
                        os.close(fd)
                    else:
                        self.fds[name] = fd
            else:
                for fd in fds:
                    os.close(fd)
            if fields.get('FDSTOREREMOVE') == '1' and name in self.fds:
                os.close(self.fds.pop(name))

    def start_with_fds(self, config, log) -> subprocess.Popen:
        """Start apollo-api as systemd would with a non-empty store."""
        names = sorted(self.fds)
        stored = [self.fds[n] for n in names]
        env = dict(os.environ, NOTIFY_SOCKET=self.path, LISTEN_FDS=str(len(names)),
                   LISTEN_FDNAMES=':'.join(names))
        argv = [sys.executable, '-c', HAND_OVER, ','.join(map(str, stored)),
                str(BIN / 'apollo-api'), '--config-file', str(config)]
        with open(log, 'ab') as out:
            return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    pass_fds=stored)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        for fd in self.fds.values():
            os.close(fd)
        self.sock.close()


def _start(store: FakeStore, tmp_path, ports, state, name: str, with_fds: bool) -> Service:
    config = tmp_path / ('%s.conf' % name)
    write_config(config, state, ports)
    log = tmp_path / ('%s.log' % name)
    if with_fds:
        proc = store.start_with_fds(config, log)
    else:
        with open(log, 'wb') as out:
            proc = subprocess.Popen([str(BIN / 'apollo-api'), '--config-file', str(config)],
                                    env=dict(os.environ, NOTIFY_SOCKET=store.path),
                                    stdout=out, stderr=subprocess.STDOUT)
    service = Service(proc, config, ports, log, state)
    for index in range(len(ports)):
        wait_for(lambda index=index: answers(service, index), 15, what='port %d' % ports[index])
    return service


def test_restart_keeps_the_port_open_and_loses_nothing(tmp_path):
    store = FakeStore(str(tmp_path / 'notify.sock'))
    ports, state = free_ports(2), tmp_path / 'state'
    old = _start(store, tmp_path, ports, state, 'old', with_fds=False)
    try:
        wait_for(lambda: len(store.fds) == 2, 5, what='both sockets in the store')
        inodes = listening_inodes(ports)
        results: dict = {}
        load = threading.Thread(target=lambda: results.update(client.steady(
            {'host': '127.0.0.1', 'ports': ports, 'threads': 8, 'duration': 4.0,
             'refused_retry_s': 20})))
        load.start()
        time.sleep(1.0)
        assert old.stop() == 0
        # Between the two processes the port stays open: the store holds it.
        assert set(listening_inodes(ports).values()) == set(inodes.values())
        new = _start(store, tmp_path, ports, state, 'new', with_fds=True)
        load.join(60)
        assert 'kept by systemd across the restart' in new.output()
        assert listening_inodes(ports) == inodes           # the very same sockets
        assert results['failed'] == 0, results['samples']
        assert results['refused_retries'] == 0, results     # never a closed port
        assert results['ok'] > 0 and results['max_ms'] > 100, results  # it did wait
        assert new.stop() == 0
    finally:
        store.close()


def test_a_port_dropped_from_the_config_leaves_the_store(tmp_path):
    store = FakeStore(str(tmp_path / 'notify.sock'))
    ports, state = free_ports(3), tmp_path / 'state'
    old = _start(store, tmp_path, ports[:2], state, 'old', with_fds=False)
    try:
        wait_for(lambda: len(store.fds) == 2, 5, what='both sockets in the store')
        assert old.stop() == 0
        # the edited config: first port replaced by a new one
        new = _start(store, tmp_path, [ports[2], ports[1]], state, 'new', with_fds=True)
        wait_for(lambda: len(store.fds) == 2 and any(n.endswith('-%d' % ports[2]) for n in store.fds),
                 5, what='the new port stored, the dropped one removed')
        assert not any(n.endswith('-%d' % ports[0]) for n in store.fds), store.fds
        assert ports[0] not in listening_inodes([ports[0]])  # nobody holds it any more
        try:
            socket.create_connection(('127.0.0.1', ports[0]), timeout=2).close()
            raise AssertionError('the dropped port %d still accepts connections' % ports[0])
        except ConnectionRefusedError:
            pass
        assert new.stop() == 0
    finally:
        store.close()
