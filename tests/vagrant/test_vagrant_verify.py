"""The Vagrant path for real: box image, ``vagrant validate``, a full
``tools/build-rpm --verify --box vagrant`` of a fresh clone, and the user's
plain ``vagrant up`` with the Vagrantfile's own provisioning.

Slow (qemu software emulation: minutes per VM) but part of the CI tier: the
issue's "done when" is exactly these runs. Root is needed (libvirtd, qemu);
tools/lib-env.sh's PHOENIX_VAGRANT_APT_PACKAGES are installed on first use.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from phoenix_rpm import vagrant
from phoenix_rpm.vagrant import driver, image, libvirtd
from phoenix_rpm.verify import newest_rpms, parse_junit

ROOT = Path(__file__).resolve().parents[2]
BUILD_RPM = ROOT / "tools" / "build-rpm"
WORK = Path(os.environ.get("PHOENIX_VAGRANT_TEST_DIR", "/var/tmp/phoenix-vagrant-tests"))
VIRSH = ["virsh", "-c", libvirtd.URI]


def _domains() -> list[str]:
    out = subprocess.run([*VIRSH, "list", "--all", "--name"], capture_output=True, text=True, timeout=30).stdout
    return [d for d in out.split() if d]


def _listeners_off_loopback() -> list[str]:
    """Listening TCP/UDP sockets of libvirtd or qemu bound anywhere but loopback."""
    out = subprocess.run(["ss", "-Hltunp"], capture_output=True, text=True, timeout=30).stdout
    bad = []
    for line in out.splitlines():
        if ("libvirtd" in line or "qemu" in line) and "127.0.0.1:" not in line and "[::1]:" not in line:
            bad.append(line)
    return bad


@pytest.fixture(scope="module")
def host() -> None:
    vagrant.ensure_host()


@pytest.fixture(scope="module")
def box(host: None) -> str:
    return vagrant.ensure_box()


@pytest.fixture(scope="module")
def clone() -> Path:
    """A fresh clone of this repository (its committed state), as a user gets it."""
    WORK.mkdir(parents=True, exist_ok=True)
    target = WORK / "clone"
    subprocess.run(["rm", "-rf", "--one-file-system", str(target)], check=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True, timeout=300)
    return target


@pytest.fixture(scope="module")
def verified(clone: Path, box: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    proc = subprocess.run([str(BUILD_RPM), "--verify", "--box", "vagrant", str(clone)],
                          capture_output=True, text=True, timeout=1800)
    proc.seconds = time.monotonic() - started  # type: ignore[attr-defined]
    (WORK / "verify.log").write_text(proc.stderr)
    return proc


def test_the_box_is_a_libvirt_box_with_kernel_and_key(box: str) -> None:
    key = box.rsplit("-", 1)[1]
    box_file = image.cache_dir() / key / f"{box}.box"
    with tarfile.open(box_file) as tar:
        names = set(tar.getnames())
        meta = json.load(tar.extractfile("metadata.json"))  # type: ignore[arg-type]
    assert {"metadata.json", "Vagrantfile", "box.img", "vmlinuz", "initrd.img", "vagrant_private_key"} <= names
    assert meta["provider"] == "libvirt" and meta["format"] == "qcow2" and meta["virtual_size"] >= 3
    listed = subprocess.run(["vagrant", "box", "list"], capture_output=True, text=True, timeout=120).stdout
    assert box in listed
    built = json.loads((image.cache_dir() / key / "box.json").read_text())
    assert built["packages"] == list(image.VM_PACKAGES)


def test_vagrant_validate_accepts_the_default_box(host: None, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_VAGRANT_")}
    env["VAGRANT_DOTFILE_PATH"] = str(tmp_path / ".vagrant")
    for extra in ({}, {"PHOENIX_VAGRANT_BOX": "generic/rocky9"}, {"PHOENIX_VAGRANT_LOCAL": "1"}):
        proc = subprocess.run(["vagrant", "validate"], cwd=ROOT, env={**env, **extra},
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "validated successfully" in proc.stdout, (extra, proc.stdout, proc.stderr)
    # The default box is the EL9 one a user expects, read back from Vagrant itself.
    proc = subprocess.run(["ruby", "-e", 'module Vagrant; def self.configure(*); end; end; load "Vagrantfile"; puts BOX'],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "almalinux/9", proc.stderr


def test_verify_in_a_vagrant_vm_passes_the_suite(clone: Path, verified: subprocess.CompletedProcess[str]) -> None:
    out = verified.stderr
    assert verified.returncode == 0, f"exit {verified.returncode}:\n{out[-6000:]}"
    assert "vagrant up phx-vg-" in out and "vagrant destroy -f done" in out
    assert "verify apollo-" in out and ": PASSED" in out
    tests, passed, skipped, failed = parse_junit(clone / "dist" / "verify-junit.xml")
    assert failed == [] and skipped == 0 and passed == tests > 20


def test_nothing_is_left_and_nothing_listened_off_loopback(verified: subprocess.CompletedProcess[str]) -> None:
    assert not [d for d in _domains() if d.startswith("phx-vg-")]
    nets = subprocess.run([*VIRSH, "net-list", "--all", "--name"], capture_output=True, text=True, timeout=30)
    assert nets.stdout.strip() == ""
    assert _listeners_off_loopback() == []


def test_plain_vagrant_up_provisions_and_forwards_the_api(clone: Path, box: str,
                                                          verified: subprocess.CompletedProcess[str]) -> None:
    """What a user types: ``vagrant up`` installs dist/'s RPM and starts its services;
    the API answers on the host's 127.0.0.1. Then a failure inside the with-block
    still ends with the VM destroyed."""
    rpm = next(p for p in newest_rpms(clone / "dist") if "debug" not in p.name)
    domain = ""
    with pytest.raises(RuntimeError, match="deliberate"):
        with driver.vagrant_vm(box, rpm=rpm) as vm:
            domain = vm.name
            up = vm.vagrant("up", "--provider=libvirt", timeout=900, check=False)
            assert up.returncode == 0, driver._tail(up)
            assert "rpm -ivh" not in up.stdout or "apollo" in up.stdout
            url = f"http://127.0.0.1:{vm.host_api_port}/"
            with urllib.request.urlopen(url, timeout=20) as response:
                assert response.status == 200
                assert json.loads(response.read())["service"] == "apollo"
            listeners = _listeners_off_loopback()
            assert listeners == [], listeners
            raise RuntimeError("deliberate failure: the VM must still be destroyed")
    assert domain and domain not in _domains()


def test_ctrl_c_during_vagrant_up_destroys_the_vm(clone: Path, verified: subprocess.CompletedProcess[str]) -> None:
    """Ctrl-C (SIGINT to the whole foreground process group, as a terminal sends it)
    while the VM boots: exit 130, and no domain, volume or work dir is left."""
    before = set(_domains())
    proc = subprocess.Popen([str(BUILD_RPM), "--stage", "verify", "--box", "vagrant", str(clone)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        started = []
        while time.monotonic() < deadline and not started and proc.poll() is None:
            started = [d for d in _domains() if d.startswith("phx-vg-") and d not in before]
            time.sleep(1)
        assert started, "no VM was started within 180 s"
        time.sleep(5)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    assert "build-rpm: interrupted" in err and "vagrant destroy -f done" in err, err[-3000:]
    assert started[0] not in _domains()
    prefix = started[0].removesuffix("default")
    vols = subprocess.run([*VIRSH, "vol-list", "default"], capture_output=True, text=True, timeout=30).stdout
    assert prefix not in vols
    assert not list(driver.work_root().glob(f"vagrant-{prefix.split('-')[2]}"))


def test_build_box_lists_the_current_box_as_added(box: str) -> None:
    proc = subprocess.run([str(ROOT / "tools" / "build-box"), "--list"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    current = [line for line in proc.stdout.splitlines() if line.startswith("*")]
    assert len(current) == 1 and box in current[0] and " added " in current[0], proc.stdout
