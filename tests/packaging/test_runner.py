"""runner: the one process API (run, spawn, finish) and its --verbose echo.

A static check keeps it the only one: no toolkit module but runner.py and
the scripts that run on their own (in the box, in a network namespace) calls
subprocess to start a process.
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from phoenix_rpm import runner
from phoenix_rpm.errors import CommandFailed

PACKAGE = Path(runner.__file__).resolve().parent
# Scripts run as programs of their own, outside the toolkit's process.
STANDALONE = {"runner.py", "ops/client.py", "templates/venv_layer.py", "inbox/kill_worker.py",
              "inbox/kill_kind_worker.py",
              "inbox/ready_probe.py", "inbox/ports.py", "inbox/__init__.py",
              "inbox/listen_ports.py", "inbox/settle_watch.py", "inbox/unit_memory.py", "inbox/procs.py"}
_STARTS = re.compile(r"subprocess\.(run|Popen|call|check_call|check_output)\(|os\.(system|popen|exec\w*|spawn\w*)\(")


def test_no_module_starts_a_process_but_through_runner():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in STANDALONE or "/infra/" in f"/{rel}":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _STARTS.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == [], "start processes with runner.run/runner.spawn:\n" + "\n".join(offenders)


def test_spawn_stops_a_process_still_running_when_the_block_ends():
    with runner.spawn(["sleep", "60"]) as proc:
        assert proc.poll() is None
    assert proc.returncode is not None, "the process was reaped"


def test_spawn_stops_it_on_an_exception_too():
    with pytest.raises(RuntimeError), runner.spawn(["sleep", "60"]) as proc:
        raise RuntimeError("boom")
    assert proc.returncode is not None


def test_finish_raises_with_the_stderr_tail_of_a_failed_command():
    with runner.spawn(["sh", "-c", "echo out; echo the-reason >&2; exit 3"]) as proc:
        with pytest.raises(CommandFailed) as caught:
            runner.finish(proc)
    assert caught.value.returncode == 3 and "the-reason" in str(caught.value), str(caught.value)


def test_finish_times_out_kills_and_says_so():
    with runner.spawn(["sleep", "60"]) as proc:
        started = time.monotonic()
        with pytest.raises(CommandFailed, match="timed out after 0.2 s"):
            runner.finish(proc, timeout=0.2)
    assert time.monotonic() - started < 10 and proc.returncode is not None


def test_finish_passes_input_and_returns_both_streams():
    with runner.spawn(["sh", "-c", "cat; echo e >&2"], stdin=subprocess.PIPE) as proc:
        out, err = runner.finish(proc, input="hello\n")
    assert (out, err) == ("hello\n", "e\n")


def test_a_missing_program_is_command_failed_127():
    with pytest.raises(CommandFailed) as caught, runner.spawn(["phoenix-no-such-program-here"]):
        pass
    assert caught.value.returncode == 127
    with pytest.raises(CommandFailed) as caught:
        runner.run(["phoenix-no-such-program-here"], check=False)
    assert caught.value.returncode == 127


def test_verbose_echoes_run_and_spawn_with_their_note(capsys, monkeypatch):
    monkeypatch.setattr(runner, "VERBOSE", True)
    runner.run(["true"], capture=True)
    with runner.spawn(["true"], note="(while the RPM builds)") as proc:
        runner.finish(proc)
    err = capsys.readouterr().err
    assert "+ true\n" in err and "+ (while the RPM builds) true &\n" in err, err
