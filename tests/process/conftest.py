"""Process tests: the real console scripts of the venv as subprocesses, on
loopback ports, with a temporary config and state directory."""
from __future__ import annotations

import os
import socket
import subprocess

import pytest
from apollo_proc import BIN, Service, answers, free_ports, wait_for, write_config


@pytest.fixture
def start(tmp_path):
    """start(script='apollo-api', env=None, wait=True, **options) -> Service."""
    running: list[Service] = []

    def _start(script: str = 'apollo-api', env: dict | None = None, wait: bool = True,
               args: list[str] | None = None, share: Service | None = None,
               sections: dict | None = None, expect_workers: int | None = None,
               **options: object) -> Service:
        """``share``: run with the config (ports, state) of another service."""
        index = len(running)
        if share is not None:
            ports, state, config = share.ports, share.state, share.config
        else:
            ports = free_ports(2)
            state = tmp_path / ('state%d' % index)
            config = tmp_path / ('apollo%d.conf' % index)
            write_config(config, state, ports, sections=sections, **options)
        log = tmp_path / ('%s%d.log' % (script, index))
        proc_env = dict(os.environ)
        proc_env.pop('NOTIFY_SOCKET', None)
        proc_env.update(env or {})
        with open(log, 'wb') as out:
            proc = subprocess.Popen([str(BIN / script), '--config-file', str(config)]
                                    + (args or []), stdout=out, stderr=subprocess.STDOUT,
                                    env=proc_env, cwd=str(tmp_path))
        service = Service(proc, config, ports, log, state)
        running.append(service)
        if wait and script == 'apollo-api':
            for port_index in range(len(ports)):
                wait_for(lambda port_index=port_index: answers(service, port_index), 15,
                         what='port %d to answer' % ports[port_index])
            expected = expect_workers or int(options.get('wsgi_workers', 2))
            wait_for(lambda: len(service.workers()) == expected, 10,
                     what='%d workers' % expected)
        return service

    yield _start
    for service in running:
        if service.proc.poll() is None:
            service.stop()


@pytest.fixture
def notify_socket(tmp_path):
    """A fake systemd notify socket: (path, socket)."""
    path = str(tmp_path / 'notify.sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(15)
    yield path, sock
    sock.close()


def pytest_configure(config):
    config.addinivalue_line('filterwarnings', r'ignore:\s*Eventlet is deprecated')


@pytest.fixture(scope='session')
def rabbitmq(tmp_path_factory):
    """One real RabbitMQ node for the whole session (it takes seconds to start):
    a private node on free loopback ports (tests/process/rabbitmq_broker.py)."""
    from rabbitmq_broker import RabbitMQ
    broker = RabbitMQ(tmp_path_factory.mktemp('rabbitmq'))
    try:
        broker.start()
        yield broker
    finally:
        broker.close()
