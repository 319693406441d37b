"""A private RabbitMQ node for the tests and the RPC benchmark.

Why a node of our own instead of the distribution's service: the tests must
not depend on (or disturb) a broker somebody else runs, and several test runs
share this machine. So every node gets its own free loopback AMQP port, its
own Erlang distribution port and epmd port (ERL_EPMD_PORT: the default 4369
would meet the system's epmd or another run's), its own node name, data
folder (RABBITMQ_MNESIA_BASE), logs, cookie (HOME) and an empty env/config
file, so /etc/rabbitmq of the distribution's package is never read.
The distribution's own rabbitmq-server service, if its postinst started one,
listens on 5672/4369 and is never contacted.

The broker is Debian's ``rabbitmq-server`` (tools/run-tests installs it:
PHOENIX_TEST_APT_PACKAGES in tools/phoenix-rpm/phoenix_rpm/lib-env.sh).
See docs/framework.md, "Messaging".
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SERVER = Path('/usr/lib/rabbitmq/bin/rabbitmq-server')
EPMD = shutil.which('epmd') or '/usr/bin/epmd'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class BrokerMissing(RuntimeError):
    """rabbitmq-server is not installed (tools/run-tests installs it)."""


class RabbitMQ:
    """One RabbitMQ node on loopback; ``start()``, ``stop()``, ``restart()``."""

    def __init__(self, base: Path, start_timeout: float = 90.0) -> None:
        if not SERVER.exists():
            raise BrokerMissing(
                '%s is missing: install the Debian package rabbitmq-server '
                '(tools/run-tests does: PHOENIX_TEST_APT_PACKAGES)' % SERVER)
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.dist_port = _free_port()
        self.epmd_port = _free_port()
        self.node = 'phoenix-test-%d-%d@localhost' % (os.getpid(), self.port)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        (self.base / 'rabbitmq-env.conf').write_text('')
        (self.base / 'rabbitmq.conf').write_text(
            'listeners.tcp.default = 127.0.0.1:%d\n'
            'loopback_users = none\n'
            # A test machine's disk may be nearly full; never block publishers.
            'disk_free_limit.absolute = 1MB\n'
            'vm_memory_high_watermark.relative = 0.9\n'
            'log.console = false\n'
            'log.file.level = info\n' % self.port)
        (self.base / 'enabled_plugins').write_text('[].\n')

    @property
    def url(self) -> str:
        return 'rabbit://guest:guest@127.0.0.1:%d/' % self.port

    @property
    def log_file(self) -> Path:
        return self.base / 'log' / 'broker.out'

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(('RABBITMQ_', 'ERL_'))}
        env.update({
            'HOME': str(self.base),  # .erlang.cookie of this node only
            'RABBITMQ_CONF_ENV_FILE': str(self.base / 'rabbitmq-env.conf'),
            'RABBITMQ_CONFIG_FILE': str(self.base / 'rabbitmq.conf'),
            'RABBITMQ_ADVANCED_CONFIG_FILE': str(self.base / 'advanced.config'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': str(self.base / 'enabled_plugins'),
            'RABBITMQ_NODENAME': self.node,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'ERL_EPMD_PORT': str(self.epmd_port),
            'ERL_EPMD_ADDRESS': '127.0.0.1',
            'RABBITMQ_MNESIA_BASE': str(self.base / 'mnesia'),
            'RABBITMQ_LOG_BASE': str(self.base / 'log'),
            'RABBITMQ_PID_FILE': str(self.base / 'rabbit.pid'),
            # the distribution port on loopback too (Erlang binds all addresses)
            'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
                '-kernel inet_dist_use_interface {127,0,0,1}',
        })
        return env

    def start(self) -> RabbitMQ:
        (self.base / 'log').mkdir(exist_ok=True)
        with open(self.log_file, 'ab') as out:
            self.proc = subprocess.Popen([str(SERVER)], env=self.env(), stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=str(self.base), start_new_session=True)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Until an AMQP handshake succeeds (the port opens a little before)."""
        import amqp  # the driver's own AMQP client (oslo.messaging -> kombu -> amqp)
        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError('rabbitmq-server exited with %s:\n%s' % (
                    self.proc.returncode, self.log_file.read_text(errors='replace')[-3000:]))
            try:
                conn = amqp.Connection('127.0.0.1:%d' % self.port, userid='guest',
                                       password='guest', connect_timeout=2)
                conn.connect()
                conn.close()
                return
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.2)
        raise RuntimeError('rabbitmq-server did not answer AMQP on port %d within %ss '
                           '(last error: %s); log: %s' % (self.port, self.start_timeout,
                                                          last, self.log_file))

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the node (SIGTERM: the Erlang VM shuts RabbitMQ down cleanly)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """Kill -9 the node (a crash, not a shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> float:
        """Stop and start the node on the same port and data; seconds taken."""
        began = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - began

    def close(self) -> None:
        """Stop the node and the epmd it started (epmd outlives the VM)."""
        self.stop()
        subprocess.run([EPMD, '-port', str(self.epmd_port), '-kill'],
                       capture_output=True, timeout=10,
                       env=dict(os.environ, ERL_EPMD_PORT=str(self.epmd_port)))
