"""Eventlet monkey-patching for entry points.

Why a module of its own: patching must happen before anything else imports
``threading``, ``socket`` or ``time`` (late patching leaves un-greened locks
behind), so an entry point imports this module first and calls
:func:`patch_for` on its very first lines. It imports nothing from phoenix.
"""
from __future__ import annotations

import signal
import sys
import warnings
from typing import Sequence

STANDARD_THREADS_FLAG = '--standard-threads'

_patched: bool | None = None
_early_sighup = False


def quiet_eventlet_warnings() -> None:
    """Keep eventlet's import-time and fork-time warnings out of the journal.

    eventlet >= 0.41 warns that it is deprecated on import and warns again on
    every fork(); both are noise for an operator reading the service's log.
    """
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    warnings.filterwarnings('ignore', message=r'Using fork\(\) is a bad idea')
    warnings.filterwarnings('ignore', module=r'eventlet(\..*)?')
    # oslo.messaging picks its eventlet executor in a patched process and
    # warns that eventlet is deprecated, once per server (docs/framework.md).
    warnings.filterwarnings('ignore', message=r'Eventlet usages are deprecated')
    warnings.filterwarnings('ignore', message=r'.*eventlet executor is (now )?deprecated')
    warnings.filterwarnings('ignore', message=r'eventletutils module is deprecated')
    warnings.filterwarnings('ignore', message=r".*'eventlet_backdoor' module is deprecated")


def patch_for(argv: Sequence[str] | None = None) -> bool:
    """Monkey-patch the standard library unless ``--standard-threads`` is given.

    Returns True when the process is now green. Idempotent.
    """
    global _patched
    quiet_eventlet_warnings()
    if _patched is not None:
        return _patched
    args = sys.argv[1:] if argv is None else list(argv)
    import eventlet  # noqa: E402  (after the warnings filter on purpose)
    if STANDARD_THREADS_FLAG in args:
        _patched = False
    else:
        eventlet.monkey_patch()
        _patched = True
    return _patched


def is_patched() -> bool:
    """Whether :func:`patch_for` monkey-patched this process."""
    return bool(_patched)


def _note_sighup(signo: int, frame: object) -> None:
    global _early_sighup
    _early_sighup = True


def defer_sighup() -> None:
    """Remember a SIGHUP that arrives while the service is starting.

    SIGHUP's default action ends the process, and the launcher installs its
    reload handler only once config, paste pipeline and sockets are ready
    (about a second). A service's entry point calls this on its first lines
    (and ``phoenix.server.eventlet.run`` again); the launcher then runs the
    reload that was asked for as soon as the service is ready.
    """
    if signal.getsignal(signal.SIGHUP) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGHUP, _note_sighup)


def take_early_sighup() -> bool:
    """Whether a SIGHUP came before the launcher's handlers (and forget it)."""
    global _early_sighup
    seen, _early_sighup = _early_sighup, False
    return seen
