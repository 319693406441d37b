"""The in-box programs (phoenix_rpm.inbox) run as files, here against local
processes and files; in a booted box through tests/verify and tests/ops."""
from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from phoenix_rpm import inbox


def test_every_program_is_a_file_of_the_package():
    for name in inbox.PROGRAMS:
        assert inbox.path(name).is_file(), name
    with pytest.raises(ValueError, match="no in-box program"):
        inbox.path("../verify")


def test_each_program_reaches_the_box_as_one_stdlib_file():
    """source() inlines procs.py: the box's python3 (no toolkit there) runs
    every program; the system python3 of this host stands in for it."""
    for name in inbox.PROGRAMS:
        text = inbox.source(name)
        assert "phoenix_rpm" not in "\n".join(
            ln for ln in text.splitlines() if ln.startswith(("import ", "from "))), name
        check = subprocess.run(["/usr/bin/python3", "-I", "-c", "import sys; compile(sys.stdin.read(), 'p', 'exec')"],
                               input=text, capture_output=True, text=True)
        assert check.returncode == 0, (name, check.stderr)
    assert "def kids(" in inbox.source("kill_kind_worker") and "def kids(" in inbox.source("kill_worker")


def test_a_program_runs_in_a_python_without_the_toolkit(tmp_path: Path):
    """listen_ports with a fake systemctl naming no cgroup, under the
    system python3 in isolated mode: the inlined helpers are all it needs."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "systemctl").write_text("#!/bin/sh\necho\n")
    (bindir / "systemctl").chmod(0o755)
    out = subprocess.run(["/usr/bin/python3", "-I", "-c", inbox.source("listen_ports"), '["svc.service"]'],
                         capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={"PATH": f"{bindir}:/usr/bin:/bin"}).stdout
    assert json.loads(out) == {"svc.service": []}


def test_ports_lists_the_ports_of_an_option(tmp_path: Path):
    conf = tmp_path / "svc.conf"
    conf.write_text("[DEFAULT]\nport = 8780, 8781\n[api]\nport = 9000\n")
    for section, want in (("DEFAULT", [8780, 8781]), ("api", [9000])):
        out = subprocess.run([sys.executable, "-c", inbox.source("ports"), str(conf), section, "port"],
                             capture_output=True, text=True, check=True).stdout
        assert json.loads(out) == want, (section, out)


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/healthcheck" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _systemctl(tmp_path: Path, state: str) -> dict[str, str]:
    """A PATH whose systemctl reports every unit in ``state`` (ActiveState/SubState)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "systemctl"
    active, sub = state.split("/")
    fake.write_text(f"#!/bin/sh\nprintf 'ActiveState={active}\\nSubState={sub}\\n'\n")
    fake.chmod(0o755)
    return {"PATH": f"{bindir}:/usr/bin:/bin"}


def test_ready_probe_waits_for_units_and_ports(tmp_path: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        conf = tmp_path / "svc.conf"
        conf.write_text(f"[DEFAULT]\nbind_host = 127.0.0.1\nport = {port}\n")
        h = {"config_file": str(conf), "section": "DEFAULT", "host_option": "bind_host",
             "port_option": "port", "healthcheck": "/healthcheck"}
        probe = [sys.executable, "-c", inbox.source("ready_probe")]
        plan = {"http": [h], "units": ["svc.service"]}
        ready = subprocess.run([*probe, json.dumps(plan), "5"], capture_output=True, text=True,
                               env=_systemctl(tmp_path, "active/running"))
        assert ready.returncode == 0 and ready.stdout.strip() == "ready", ready.stdout + ready.stderr
        failed = subprocess.run([*probe, json.dumps(plan), "30"], capture_output=True, text=True, timeout=10,
                                env=_systemctl(tmp_path, "failed/failed"))
        assert failed.returncode == 1, "a failed unit ends the wait at once: " + failed.stdout
        # Any HTTP answer counts (a 404 too: the suite judges statuses); a
        # port that never opens keeps the wait going until its deadline.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        conf.write_text(f"[DEFAULT]\nbind_host = 127.0.0.1\nport = {closed}\n")
        late = subprocess.run([*probe, json.dumps(plan), "1"], capture_output=True, text=True,
                              env=_systemctl(tmp_path, "active/running"))
        assert late.returncode == 1 and f"127.0.0.1:{closed}/healthcheck" in late.stdout, late.stdout
    finally:
        server.shutdown()
        server.server_close()


def _fake_systemctl(tmp_path: Path, output: str) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "systemctl").write_text(f"#!/bin/sh\nprintf '{output}'\n")
    (bindir / "systemctl").chmod(0o755)
    return {"PATH": f"{bindir}:/usr/bin:/bin"}


def test_listen_ports_finds_the_port_a_units_process_listens_on(tmp_path: Path):
    """listen_ports.py reads the unit's cgroup from systemctl (faked: this
    process's own cgroup) and finds the socket this process listens on."""
    import socket

    cgroup = next(line.split(":", 2)[2] for line in Path("/proc/self/cgroup").read_text().splitlines()
                  if line.split(":", 2)[1] in ("", "name=systemd"))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        port = server.getsockname()[1]
        out = subprocess.run([sys.executable, "-c", inbox.source("listen_ports"), json.dumps(["svc.service"])],
                             capture_output=True, text=True, check=True,
                             env=_fake_systemctl(tmp_path, cgroup + "\\n"))
        assert ["127.0.0.1", port] in json.loads(out.stdout)["svc.service"], out.stdout
    finally:
        server.close()


def test_settle_watch_samples_the_units_state(tmp_path: Path):
    out = subprocess.run([sys.executable, "-c", inbox.source("settle_watch"), json.dumps(["svc.service"]), "0.5"],
                         capture_output=True, text=True, check=True,
                         env=_fake_systemctl(tmp_path, "ActiveState=active\\nSubState=running\\n"))
    watched = json.loads(out.stdout)["svc.service"]
    assert watched["states"] == ["active/running"] and watched["samples"] >= 2, watched


def test_unit_memory_sums_the_rss_of_the_unit_cgroup(tmp_path: Path):
    """A fake systemctl names this test's own cgroup: its processes' VmRSS are summed."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    cgroup = next(p[2] for p in (ln.split(":", 2) for ln in lines) if p[1] in ("", "name=systemd"))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "systemctl").write_text(f"#!/bin/sh\necho '{cgroup}'\n")
    (bindir / "systemctl").chmod(0o755)
    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(64 << 20); time.sleep(30)"])
    try:
        for _ in range(100):  # until the child has touched its 64 MiB
            status = Path(f"/proc/{child.pid}/status").read_text()
            if int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1]) > 60 << 10:
                break
            threading.Event().wait(0.05)
        out = subprocess.run([sys.executable, "-c", inbox.source("unit_memory"), '["svc.service"]'],
                             capture_output=True, text=True, check=True,
                             env={"PATH": f"{bindir}:/usr/bin:/bin"}).stdout
    finally:
        child.kill()
        child.wait()
    got = json.loads(out)["svc.service"]
    assert got["processes"] >= 2 and got["rss_kib"] > 64 << 10, got
