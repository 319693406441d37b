"""A booted box: systemd as PID 1, ssh, its own network, always torn down."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phoenix_rpm.box import BootedBox, booted, cleanup_leftovers, lease, netns

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def box(box_root: Path, tmp_path_factory: pytest.TempPathFactory):
    cfg = tmp_path_factory.mktemp("ssh") / "ssh_config"
    with booted(box_root, ssh_config_path=cfg) as box:
        yield box


def _gone(name: str, merged: Path, nspawn_pid: int | None) -> list[str]:
    """What is still there of box `name` (empty when fully torn down)."""
    left = [ns for ns in netns.list_names() if ns in (name, f"{name}-p")]
    if os.path.ismount(merged):
        left.append(f"mount {merged}")
    if merged.parent.exists():
        left.append(f"dir {merged.parent}")
    if nspawn_pid and lease._alive(nspawn_pid):          # a zombie awaiting its reaper counts as gone
        left.append(f"nspawn pid {nspawn_pid}")
    if (lease.state_dir() / f"{name}.json").exists():
        left.append("lease")
    return left


def test_systemd_is_pid1_and_the_system_is_up(box: BootedBox) -> None:
    assert box.exec(["cat", "/proc/1/comm"]).stdout.strip() == "systemd"
    state = box.exec(["systemctl", "is-system-running"], check=False).stdout.strip()
    assert state in ("running", "degraded")
    assert box.exec(["hostname"]).stdout.strip() == box.name


def test_ssh_config_looks_like_vagrant_and_plain_ssh_works(box: BootedBox) -> None:
    text = box.ssh_config.read_text()
    assert text.splitlines()[0] == f"Host {box.ssh_host}"
    for line in (f"HostName {box.address}", "User root", "Port 22", "UserKnownHostsFile /dev/null",
                 "StrictHostKeyChecking no", "PasswordAuthentication no", "IdentitiesOnly yes",
                 "LogLevel FATAL"):
        assert f"\n  {line}\n" in text
    assert "  ProxyCommand ip netns exec " in text
    proc = subprocess.run(["ssh", "-F", box.ssh_config, box.ssh_host, "true"], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    who = subprocess.run(["ssh", "-F", box.ssh_config, box.ssh_host, "id -u; cat /proc/1/comm"],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert who.stdout.split() == ["0", "systemd"]


def test_a_port_in_the_box_is_reached_from_the_host_side(box: BootedBox) -> None:
    box.exec(["mkdir", "-p", "/srv/www"])
    box.exec(["sh", "-c", "echo hello-from-box > /srv/www/index.html"])
    box.exec(["systemd-run", "--unit=phx-http", "--property=WorkingDirectory=/srv/www",
              "python3", "-m", "http.server", "8780", "--bind", "0.0.0.0"])
    deadline = time.monotonic() + 15
    while True:
        proc = subprocess.run(box.host_argv(["curl", "-sS", "--max-time", "2", f"http://{box.address}:8780/"]),
                              capture_output=True, text=True)
        if proc.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert proc.stdout == "hello-from-box\n", proc.stderr
    # the box's port is not the host's: nothing answers on the host's own 8780 because of the box
    host_side = subprocess.run(["curl", "-sS", "--max-time", "2", "http://127.0.0.1:8780/"],
                               capture_output=True, text=True)
    assert "hello-from-box" not in host_side.stdout


def test_copy_in_lands_where_the_box_sees_it(box: BootedBox, tmp_path: Path) -> None:
    src = tmp_path / "pkg.txt"
    src.write_text("payload\n")
    box.copy_in(src, "/var/tmp/incoming/pkg.txt")
    assert box.exec(["cat", "/var/tmp/incoming/pkg.txt"]).stdout == "payload\n"
    box.copy_in(src, "/root/new-dir/")
    assert box.exec(["stat", "-c", "%U %n", "/root/new-dir/pkg.txt"]).stdout == "root /root/new-dir/pkg.txt\n"
    from phoenix_rpm.errors import UserError

    with pytest.raises(UserError, match="hidden"):
        box.copy_in(src, "/tmp/pkg.txt")


def test_exec_reports_failures_and_takes_input(box: BootedBox) -> None:
    assert box.exec(["cat"], input="abc").stdout == "abc"
    assert box.exec(["sh", "-c", "exit 4"], check=False).returncode == 4


def test_a_unit_that_logs_a_flood_keeps_every_journal_line(box: BootedBox) -> None:
    """The verify checks and ops scenarios read whole journals; journald's
    default rate limit (10000 lines in 30 s, times a free-disk factor: about
    37500 here) would drop the rest of a burst."""
    lines = 100000
    box.exec(["systemd-run", "--unit=phx-flood", "--wait", "--quiet", "sh", "-c",
              f"seq 1 {lines}"], timeout=60)
    count = "journalctl -u phx-flood.service -o cat --no-pager | grep -cx '[0-9]*'"
    # journald reads the stream after the unit ended: wait until the count stops growing
    out = box.exec(["sh", "-c", f"last=-1; for i in $(seq 60); do journalctl --sync; n=$({count}); "
                    f"[ \"$n\" = {lines} ] || [ \"$n\" = \"$last\" ] && break; last=$n; sleep 1; done; "
                    "echo $n"], timeout=120).stdout
    assert int(out.strip()) == lines, out


def test_teardown_removes_everything_even_when_the_body_raises(box_root: Path) -> None:
    with pytest.raises(RuntimeError, match="inside"):
        with booted(box_root) as b:
            name, merged = b.name, b.root
            nspawn_pid = next(le.nspawn_pid for le in lease.load_leases() if le.name == name)
            assert os.path.ismount(merged) and name in netns.list_names()
            raise RuntimeError("inside")
    assert _gone(name, merged, nspawn_pid) == []


def test_two_boxes_at_once_do_not_collide(box_root: Path, box: BootedBox) -> None:
    with booted(box_root) as other:
        assert other.name != box.name and other.address != box.address
        assert other.exec(["hostname"]).stdout.strip() == other.name
        assert box.exec(["hostname"]).stdout.strip() == box.name
        # each boot makes its own ssh host keys and machine id
        key = ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]
        assert other.exec(key).stdout != box.exec(key).stdout
        assert other.exec(["cat", "/etc/machine-id"]).stdout != box.exec(["cat", "/etc/machine-id"]).stdout


_CHILD = """
import sys, time
from pathlib import Path
from phoenix_rpm.box import booted
with booted(Path(sys.argv[1])) as box:
    print(box.name, box.root, flush=True)
    time.sleep(600)
"""


def _start_child(box_root: Path) -> tuple[subprocess.Popen[str], str, Path]:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(box_root)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline().split() if child.stdout else []
    assert len(line) == 2, child.stderr.read() if child.stderr else ""
    return child, line[0], Path(line[1])


def test_leftovers_of_a_killed_run_are_cleaned(box_root: Path) -> None:
    child, name, merged = _start_child(box_root)
    nspawn_pid = next(le.nspawn_pid for le in lease.load_leases() if le.name == name)
    assert name not in cleanup_leftovers()       # a live owner's box is kept
    assert os.path.ismount(merged)
    child.kill()                       # SIGKILL: no finally runs
    child.wait()
    assert name in netns.list_names() and os.path.ismount(merged)
    removed = cleanup_leftovers()
    assert name in removed
    assert _gone(name, merged, nspawn_pid) == []


def test_ctrl_c_tears_the_box_down(box_root: Path) -> None:
    child, name, merged = _start_child(box_root)
    nspawn_pid = next(le.nspawn_pid for le in lease.load_leases() if le.name == name)
    child.send_signal(signal.SIGINT)
    child.wait(timeout=30)
    assert _gone(name, merged, nspawn_pid) == []


def test_testinfra_ssh_backend_reaches_the_box(box: BootedBox) -> None:
    """What the verify stage does: pytest --hosts=ssh://<alias> --ssh-config=<file>."""
    import testinfra

    host = testinfra.get_host(f"ssh://{box.ssh_host}", ssh_config=str(box.ssh_config))
    assert host.file("/etc/debian_version").content_string.startswith("12.")
    assert host.service("ssh").is_running
    assert host.package("rpm").is_installed
    assert host.run("cat /proc/1/comm").stdout.strip() == "systemd"


def test_a_boot_that_misses_its_deadline_fails_clearly_and_leaves_nothing(box_root: Path) -> None:
    from phoenix_rpm.errors import CheckFailed

    before = {le.name for le in lease.load_leases()}
    with pytest.raises(CheckFailed) as info:
        with booted(box_root, boot_timeout=0.3):
            pytest.fail("the body must not run when the boot failed")
    message = str(info.value)
    assert "running/degraded within 0.3 s" in message or "did not start in time" in message
    assert "--- last lines of the box console" in message
    assert "Welcome to" in message or "systemd" in message
    name = message.split(":", 1)[0].removeprefix("box ")
    assert name.startswith("phx-") and name not in before
    assert name not in netns.list_names()
    assert not (lease.work_root() / name).exists()


def test_the_verify_flow_rpm_ivh_enable_now_and_curl(box: BootedBox, tmp_path: Path) -> None:
    """copy_in + plain `rpm -ivh` + `systemctl enable --now` + HTTP from the host side."""
    top = tmp_path / "rpmbuild"
    (top / "SPECS").mkdir(parents=True)
    spec = top / "SPECS/phx-hello.spec"
    spec.write_text("""\
Name: phx-hello
Version: 1.0
Release: 1
Summary: a unit that serves HTTP on 8781
License: MIT
BuildArch: noarch
Requires: python3, systemd, /bin/sh

%description
Test package.

%install
mkdir -p %{buildroot}/usr/lib/systemd/system
cat > %{buildroot}/usr/lib/systemd/system/phx-hello.service <<'UNIT'
[Service]
DynamicUser=yes
ExecStart=/usr/bin/python3 -m http.server 8781 --bind 0.0.0.0 --directory /usr/share
ProtectSystem=strict
PrivateTmp=yes
[Install]
WantedBy=multi-user.target
UNIT

%files
/usr/lib/systemd/system/phx-hello.service
""")
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", spec], check=True, capture_output=True)
    (rpm,) = (top / "RPMS/noarch").glob("*.rpm")
    box.copy_in(rpm, f"/var/tmp/rpms/{rpm.name}")
    installed = box.exec(["rpm", "-ivh", f"/var/tmp/rpms/{rpm.name}"], check=False)
    assert installed.returncode == 0, installed.stderr
    box.exec(["systemctl", "enable", "--now", "phx-hello.service"])
    deadline = time.monotonic() + 15
    while True:
        proc = subprocess.run(box.host_argv(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                             "--max-time", "2", f"http://{box.address}:8781/"]),
                              capture_output=True, text=True)
        if proc.stdout == "200" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert proc.stdout == "200"
    score = box.exec(["systemd-analyze", "security", "--no-pager", "phx-hello.service"], check=False)
    assert "Overall exposure level for phx-hello.service" in score.stdout


def test_two_verifications_in_separate_processes_at_once(box_root: Path) -> None:
    """Two runs booting at the same moment: distinct names and subnets, both usable, both cleaned."""
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, str(box_root)], cwd=REPO,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    boxes = []
    for child in children:
        line = child.stdout.readline().split() if child.stdout else []
        assert len(line) == 2, child.stderr.read() if child.stderr else ""
        boxes.append((line[0], Path(line[1])))
    by_name = {le.name: le for le in lease.load_leases()}
    (a, a_root), (b, b_root) = boxes
    assert a != b and by_name[a].subnet != by_name[b].subnet
    for name, merged in boxes:
        cfg = merged.parent / "ssh_config"
        proc = subprocess.run(["ssh", "-F", cfg, name, "hostname"], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
        assert proc.stdout.strip() == name, proc.stderr
    pids = {name: by_name[name].nspawn_pid for name, _ in boxes}
    for child in children:
        child.send_signal(signal.SIGINT)
    for child in children:
        child.wait(timeout=30)
    for name, merged in boxes:
        assert _gone(name, merged, pids[name]) == []


def test_an_sshd_that_never_answers_fails_with_its_status(box_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A box whose sshd cannot start: the error says so instead of hanging."""
    from phoenix_rpm.box import boot as boot_mod
    from phoenix_rpm.box import ssh
    from phoenix_rpm.errors import CheckFailed

    real_authorize = ssh.authorize

    def break_sshd(root: Path, public_key: Path) -> None:
        real_authorize(root, public_key)
        (root / "etc/ssh/sshd_config.d/zz-broken.conf").write_text("NoSuchOption yes\n")

    monkeypatch.setattr(ssh, "authorize", break_sshd)
    monkeypatch.setattr(boot_mod, "SSH_TIMEOUT", 3.0)
    with pytest.raises(CheckFailed) as info:
        with booted(box_root):
            pytest.fail("the body must not run")
    message = str(info.value)
    assert "ssh into the box did not work in time" in message
    assert "--- systemctl status ssh.service ---" in message and "ssh.service" in message


def test_unclaimed_namespaces_and_work_dirs_are_cleaned(box_root: Path) -> None:
    """Resources with no lease at all (an older toolkit, a lost state dir) go too."""
    import subprocess as sp

    ns = "phx-0rphan"
    wd = lease.work_root() / "phx-0rphan"
    sp.run(["ip", "netns", "add", ns], check=True)
    for d in ("upper", "work", "merged"):
        (wd / d).mkdir(parents=True, exist_ok=True)
    sp.run(["mount", "-t", "overlay", "overlay", "-o",
            f"lowerdir={box_root},upperdir={wd / 'upper'},workdir={wd / 'work'}", wd / "merged"], check=True)
    removed = cleanup_leftovers()
    assert ns in removed and str(wd) in removed
    assert ns not in netns.list_names()
    assert not wd.exists()
