"""The parent process: forks workers, respawns them, handles signals.

Why not oslo.service: its launcher pulls in a large dependency set and hides
the three behaviours the packaging contract tests (respawn within a second,
graceful SIGTERM bounded by ``graceful_shutdown_timeout``, SIGHUP reload that
keeps the listening sockets and the main PID). This one is small enough to
read in one go.

The parent never runs the eventlet hub: it waits on a self-pipe that Python's
signal machinery writes to (``signal.set_wakeup_fd``), with the real
``select``, so a signal or a dead child wakes it at once.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Callable, Protocol, Sequence

from eventlet import patcher

from phoenix.common import patching
from phoenix.server import systemd

LOG = logging.getLogger(__name__)

_select = patcher.original('select')
_os = patcher.original('os')

RESPAWN_BACKOFF = 1.0   # a slot whose workers keep dying this young respawns this slowly
HANDLED_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD}
KILL_GRACE = 5.0        # extra seconds after graceful_shutdown_timeout before SIGKILL


class WorkerService(Protocol):
    """What the launcher needs from a service (see phoenix.server.service)."""

    kind: str
    workers: int

    def describe(self) -> str: ...

    def prepare(self) -> None:
        """Parent side, before forking: load and validate what workers share."""

    def run_worker(self, should_stop: Callable[[], bool]) -> int:
        """Child side: serve until ``should_stop()``, drain, return a status."""


@dataclass
class Worker:
    pid: int
    service: WorkerService
    slot: int
    started: float
    retiring: bool = False
    kill_at: float | None = None


@dataclass
class _Pending:
    """A slot whose worker died young and is waiting out its backoff."""
    service: WorkerService
    slot: int
    not_before: float


@dataclass
class ProcessLauncher:
    """Runs ``services`` in forked workers until SIGTERM/SIGINT.

    ``reload_fn`` is called on SIGHUP; it re-reads the configuration and
    returns the new list of services (already prepared), or raises to keep
    the running workers.
    """

    services: list[WorkerService]
    graceful_shutdown_timeout: Callable[[], int]
    reload_fn: Callable[[], list[WorkerService]] | None = None
    on_close: Callable[[], None] | None = None
    notify: Callable[[str], bool] = systemd.notify
    children: dict[int, Worker] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    quick_deaths: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._parent_pid = os.getpid()
        self._signals: list[int] = []
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._child_stop = False
        self._stopping = False

    # -- parent ---------------------------------------------------------
    def _on_signal(self, signo: int, frame: FrameType | None) -> None:
        self._signals.append(signo)

    def _install_parent_signals(self) -> None:
        for signo in HANDLED_SIGNALS:
            signal.signal(signo, self._on_signal)
        signal.set_wakeup_fd(self._wfd, warn_on_full_buffer=False)

    def launch(self) -> None:
        """Fork every worker and tell systemd we are ready."""
        self._install_parent_signals()
        for service in self.services:
            for slot in range(service.workers):
                self._fork(service, slot)
        LOG.info('Started %s', ', '.join(s.describe() for s in self.services) or 'no services')
        self.notify('READY=1\nSTATUS=%s\nMAINPID=%d' % (
            '; '.join(s.describe() for s in self.services), os.getpid()))
        if patching.take_early_sighup():
            LOG.info('A SIGHUP came during start-up: reloading now')
            self._signals.append(signal.SIGHUP)

    def wait(self) -> int:
        """Supervise workers until a stop signal; return the exit status."""
        watchdog = systemd.watchdog_interval()
        next_ping = time.monotonic()
        while True:
            timeout = 1.0
            if self.pending:
                timeout = min(timeout, max(0.0, min(p.not_before for p in self.pending) - time.monotonic()))
            if watchdog is not None:
                now = time.monotonic()
                if now >= next_ping:
                    self.notify('WATCHDOG=1')
                    next_ping = now + watchdog
                timeout = min(timeout, max(0.0, next_ping - now))
            self._sleep(timeout)
            signals, self._signals = self._signals, []
            if signal.SIGTERM in signals or signal.SIGINT in signals:
                return self.stop()
            if signal.SIGHUP in signals:
                self.reload()
            self._reap()
            self._respawn()
            self._kill_overdue()

    def _sleep(self, timeout: float) -> None:
        try:
            _select.select([self._rfd], [], [], timeout)
        except InterruptedError:
            pass
        try:  # the real read: eventlet's green os.read would wait in the hub
            while _os.read(self._rfd, 512):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _fork(self, service: WorkerService, slot: int) -> None:
        # Signals stay blocked across fork until the child has its own
        # handlers: a SIGTERM landing in between would otherwise go to the
        # parent's handler copy in the child and be lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
            raise
        if pid == 0:
            self._run_child(service)  # never returns
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        self.children[pid] = Worker(pid, service, slot, time.monotonic())
        LOG.info('Started %s worker %d (pid %d)', service.kind, slot, pid)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = _os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.children.pop(pid, None)
            if worker is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if worker.retiring or self._stopping:
                LOG.info('%s worker (pid %d) exited with status %d',
                         worker.service.kind, pid, code)
                continue
            LOG.warning('%s worker %d (pid %d) died with status %d; respawning',
                        worker.service.kind, worker.slot, pid, code)
            # Respawn at once; only a slot that keeps crashing young (a crash
            # loop) waits RESPAWN_BACKOFF between attempts.
            key = (id(worker.service), worker.slot)
            if time.monotonic() - worker.started < RESPAWN_BACKOFF:
                self.quick_deaths[key] = self.quick_deaths.get(key, 0) + 1
            else:
                self.quick_deaths.pop(key, None)
            delay = RESPAWN_BACKOFF if self.quick_deaths.get(key, 0) > 1 else 0.0
            self.pending.append(_Pending(worker.service, worker.slot, time.monotonic() + delay))

    def _respawn(self) -> None:
        now = time.monotonic()
        due = [p for p in self.pending if p.not_before <= now]
        self.pending = [p for p in self.pending if p.not_before > now]
        for item in due:
            if item.service in self.services:
                self._fork(item.service, item.slot)

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for worker in list(self.children.values()):
            if worker.kill_at is not None and now >= worker.kill_at:
                LOG.warning('%s worker (pid %d) did not stop in time; killing it',
                            worker.service.kind, worker.pid)
                self._signal(worker.pid, signal.SIGKILL)
                worker.kill_at = None

    def _signal(self, pid: int, signo: int) -> None:
        try:
            os.kill(pid, signo)
        except ProcessLookupError:
            pass

    def _retire(self, workers: Sequence[Worker]) -> None:
        timeout = self.graceful_shutdown_timeout()
        for worker in workers:
            worker.retiring = True
            worker.kill_at = (time.monotonic() + timeout + KILL_GRACE) if timeout else None
            self._signal(worker.pid, signal.SIGTERM)

    def reload(self) -> None:
        """SIGHUP: new config, new workers, same sockets and main PID."""
        LOG.info('Caught SIGHUP, reloading configuration')
        self.notify('RELOADING=1\nMONOTONIC_USEC=%d' % (time.monotonic_ns() // 1000))
        try:
            if self.reload_fn is None:
                raise RuntimeError('this service does not support reloading')
            services = self.reload_fn()
        except Exception as exc:  # keep serving with the old workers
            LOG.error('Reload failed, keeping the running workers: %s', exc)
            self.notify('READY=1\nSTATUS=reload failed: %s' % exc)
            return
        self._retire([w for w in self.children.values() if not w.retiring])
        self.pending = []
        self.services = services
        for service in self.services:
            for slot in range(service.workers):
                self._fork(service, slot)
        LOG.info('Reloaded: %s', ', '.join(s.describe() for s in self.services))
        self.notify('READY=1\nSTATUS=%s' % '; '.join(s.describe() for s in self.services))

    def stop(self) -> int:
        """SIGTERM: let workers drain, bounded by graceful_shutdown_timeout."""
        self._stopping = True
        self.notify('STOPPING=1')
        LOG.info('Caught stop signal, stopping %d workers', len(self.children))
        # The parent's copies of the listening sockets go first (on_close:
        # phoenix.server.sockets.close_sockets). Under systemd its fd store
        # keeps the port open for the next process; otherwise a SYN filter
        # stops new connections, and once the workers have served what is
        # queued and closed theirs a client gets "connection refused" (safe
        # to retry), never a connection the kernel accepted and then reset.
        if self.on_close is not None:
            self.on_close()
        self._retire(list(self.children.values()))
        while self.children:
            self._sleep(0.2)
            self._reap()
            self._kill_overdue()
        LOG.info('All workers stopped')
        return 0

    # -- child ----------------------------------------------------------
    def _child_should_stop(self) -> bool:
        return self._child_stop or os.getppid() != self._parent_pid

    def _on_child_term(self, signo: int, frame: FrameType | None) -> None:
        self._child_stop = True

    def _run_child(self, service: WorkerService) -> None:
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            os.close(self._rfd)
            os.close(self._wfd)
            signal.signal(signal.SIGTERM, self._on_child_term)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
            self.children.clear()
            self.pending = []
            import eventlet.hubs
            eventlet.hubs.use_hub()  # a fresh hub: never share the parent's epoll fd
            status = service.run_worker(self._child_should_stop)
        except BaseException:  # the worker must never return into the parent's loop
            LOG.exception('%s worker failed', service.kind)
            status = 1
        finally:
            logging.shutdown()
            _os._exit(status)
