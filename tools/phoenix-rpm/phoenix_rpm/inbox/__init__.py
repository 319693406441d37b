"""Programs that run inside the box, shipped as real files of the toolkit.

Each module here is a stand-alone script for the box's own ``python3``
(stdlib only, no toolkit import): :func:`run` copies it into the box and
runs it there, so the programs are linted, type-checked and tested like the
rest of the toolkit (tests run them on the host against local processes)
instead of living in string constants.

``ports.py``        the ports a config file's option lists (ops target);
``kill_worker.py``  kill -9 of the busiest worker, time its respawn (ops);
``kill_kind_worker.py`` kill -9 of an rpc (or other kind of) worker, time
                    its respawn and its first "consuming" line (ops);
``amqp_bus.py``     malformed messages onto an RPC topic, a queue's depth
                    (stdlib AMQP 0-9-1; ops);
``ready_probe.py``  wait until every unit is active and answers (verify);
``listen_ports.py`` the ports each unit's processes listen on (verify, suite);
``settle_watch.py`` restarts and worker crash-loops during the settle time;
``unit_memory.py``  the RSS of each unit's processes (the verify report).

What several of them read from /proc lives once, in ``procs.py``: a program
imports it as ``from phoenix_rpm.inbox.procs import ...`` (so the host's
tests, ruff and mypy see a normal import) and :func:`source` puts the
module's text in place of that line, so what reaches the box is still one
stdlib-only file.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Inside the box: not under /tmp or /run (the box mounts its own tmpfs there,
# hiding what is copied in from outside; phoenix_rpm.box.boot.copy_in).
BOX_DIR = "/var/tmp/phoenix-rpm"
SHARED_IMPORT = re.compile(r"^from phoenix_rpm\.inbox\.procs import [\w, ]+(  #.*)?$", re.M)
PROGRAMS = ("ports", "kill_worker", "kill_kind_worker", "amqp_bus", "ready_probe", "listen_ports",
            "settle_watch", "unit_memory")


def path(name: str) -> Path:
    """The host file of one in-box program."""
    if name not in PROGRAMS:
        raise ValueError(f"no in-box program {name!r}; one of {', '.join(PROGRAMS)}")
    return HERE / f"{name}.py"


def source(name: str) -> str:
    """The text of program ``name`` as it runs in the box: its import of
    procs.py replaced by that module's text (at most one such line)."""
    text = path(name).read_text()
    found = SHARED_IMPORT.findall(text)
    if len(found) > 1:
        raise ValueError(f"{name}.py imports phoenix_rpm.inbox.procs more than once")
    shared = (HERE / "procs.py").read_text()
    return SHARED_IMPORT.sub(lambda _m: shared, text, count=1)


def run(box: Any, name: str, *args: str, timeout: float | None = 60) -> subprocess.CompletedProcess[str]:
    """Copy program ``name`` into the box and run it there as root with ``args``.

    Copied on every call (a few kB): a box is fresh per verification and the
    copy is what makes the box run exactly the file the toolkit ships.
    """
    box.exec(["mkdir", "-p", BOX_DIR], timeout=30)  # a Vagrant VM's scp does not make it
    with tempfile.TemporaryDirectory(prefix="phoenix-inbox-") as tmp:
        program = Path(tmp) / f"{name}.py"
        program.write_text(source(name))
        box.copy_in(program, f"{BOX_DIR}/")
    result: subprocess.CompletedProcess[str] = box.exec(["python3", f"{BOX_DIR}/{name}.py", *args],
                                                        check=False, timeout=timeout)
    return result
