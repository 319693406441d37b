"""Fast checks of the Vagrant path's pieces that need no VM (no root, no network)."""
from __future__ import annotations

from pathlib import Path

from phoenix_rpm.vagrant import driver, image, libvirtd


def test_qemu_conf_keys_are_replaced_or_appended() -> None:
    text = '# comment\nuser = "libvirt-qemu"\n#group = "kvm"\nremember_owner = 0\n'
    merged = libvirtd.merged_conf(text, {"user": '"root"', "group": '"root"'})
    lines = merged.splitlines()
    assert 'user = "root"' in lines and 'user = "libvirt-qemu"' not in lines
    assert 'group = "root"' in lines and '#group = "kvm"' in lines   # the comment stays, the key is added
    assert "remember_owner = 0" in lines
    assert libvirtd.merged_conf(merged, {"user": '"root"', "group": '"root"'}) == merged  # idempotent


def test_vm_env_switches_on_the_local_settings_with_loopback_ports(tmp_path: Path) -> None:
    vm = driver.VagrantVM("phoenix-debian12-x", tmp_path / "vagrant-abc123", rpm=Path("/d/a.rpm"),
                          units=["a.service", "b.service"])
    env = vm.env
    assert env["PHOENIX_VAGRANT_LOCAL"] == "1"
    assert env["PHOENIX_VAGRANT_BOX"] == "phoenix-debian12-x"
    assert env["PHOENIX_VAGRANT_UNITS"] == "a.service b.service"
    assert env["VAGRANT_DOTFILE_PATH"].startswith(str(tmp_path))     # no .vagrant/ in the repository
    assert int(env["PHOENIX_VAGRANT_SSH_PORT"]) != int(env["PHOENIX_VAGRANT_HOST_PORT"])
    assert vm.prefix.startswith("phx-vg-") and vm.name == vm.prefix + "default"


def test_purge_refuses_names_that_are_not_ours() -> None:
    assert driver.purge_domains("main_") == []


def test_box_key_follows_the_root_and_the_profile() -> None:
    assert image.box_key("a") == image.box_key("a")
    assert image.box_key("a") != image.box_key("b")
    assert image.box_name("0123456789ab") == "phoenix-debian12-0123456789ab"


def test_guest_networks_are_link_local_and_matched_by_mac() -> None:
    files = image.network_files()
    text = "\n".join(files.values())
    assert f"MACAddress={image.SSH_NIC_MAC}" in text and f"MACAddress={image.AGENT_NIC_MAC}" in text
    for line in text.splitlines():
        if line.startswith("Address="):
            assert line.split("=", 1)[1].startswith("169.254."), line
    assert "DHCP" not in text


def test_vagrantfile_uses_the_same_macs_and_binds_forwards_to_loopback() -> None:
    text = (driver.VAGRANTFILE).read_text()
    assert image.SSH_NIC_MAC in text and image.AGENT_NIC_MAC in text
    assert image.SSH_NIC_GUEST in text
    forwards = [part for part in text.split(",") if "hostfwd=" in part]
    assert forwards and all("hostfwd=tcp:127.0.0.1:" in f for f in forwards)
    assert 'host_ip: "127.0.0.1"' in text


def test_ops_scenarios_get_a_clear_error_in_a_vm(tmp_path: Path) -> None:
    import pytest

    from phoenix_rpm.errors import UserError

    vm = driver.VagrantVM("b", tmp_path / "vagrant-abc123")
    with pytest.raises(UserError, match="--ops needs the nspawn box"):
        vm.host_argv(["wrk"])
    with pytest.raises(UserError, match="--ops needs the nspawn box"):
        _ = vm.address  # reading the property is what raises


class FakeVirsh:
    """virsh as runner.run sees it: a set of domains; ``stuck`` ones refuse undefine ``refusals`` times."""

    def __init__(self, domains: list[str], stuck: dict[str, int] | None = None) -> None:
        self.domains = list(domains)
        self.stuck = dict(stuck or {})
        self.calls: list[list[str]] = []

    def __call__(self, argv, **_kwargs):
        import subprocess

        self.calls.append(list(argv))
        verb = argv[3]
        out, err, rc = "", "", 0
        if verb == "list":
            out = "\n".join(self.domains) + "\n"
        elif verb == "undefine":
            name = argv[4]
            if self.stuck.get(name, 0) > 0:
                self.stuck[name] -= 1
                rc, err = 1, f"error: Failed to undefine domain '{name}': Requested operation is not valid"
            elif name in self.domains:
                self.domains.remove(name)
        elif verb == "vol-list":
            out = " Name Path\n------\n"
        return subprocess.CompletedProcess(argv, rc, out, err)


def test_purge_reads_the_list_again_until_a_domain_mid_shutdown_is_gone(monkeypatch) -> None:
    fake = FakeVirsh(["phx-vg-aaaaaa-default", "other"], stuck={"phx-vg-aaaaaa-default": 3})
    monkeypatch.setattr(driver.runner, "run", fake)
    monkeypatch.setattr(driver.time, "sleep", lambda _s: None)
    monkeypatch.setattr(driver.shutil, "which", lambda _n: "/usr/bin/virsh")
    assert driver.purge_domains("phx-vg-aaaaaa-") == ["phx-vg-aaaaaa-default"]
    assert fake.domains == ["other"]


def test_purge_that_cannot_remove_a_domain_says_so(monkeypatch) -> None:
    import pytest

    from phoenix_rpm.errors import CheckFailed

    fake = FakeVirsh(["phx-vg-bbbbbb-default"], stuck={"phx-vg-bbbbbb-default": 100})
    monkeypatch.setattr(driver.runner, "run", fake)
    monkeypatch.setattr(driver.time, "sleep", lambda _s: None)
    monkeypatch.setattr(driver.shutil, "which", lambda _n: "/usr/bin/virsh")
    with pytest.raises(CheckFailed, match=r"phx-vg-bbbbbb-\* are still defined .*Requested operation is not valid"):
        driver.purge_domains("phx-vg-bbbbbb-")


def test_domains_of_killed_runs_are_reaped_and_live_runs_kept(monkeypatch, tmp_path: Path) -> None:
    import subprocess

    monkeypatch.setenv("PHOENIX_BOX_WORK", str(tmp_path))
    live = tmp_path / "vagrant-c0ffee"          # a run still going: its owner is this process
    live.mkdir()
    driver.write_owner(live)
    dead = tmp_path / "vagrant-dead01"          # its owner exited (a real pid, now gone)
    dead.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    (dead / driver.OWNER_FILE).write_text(f"{gone.pid} 12345\n")
    (tmp_path / "vagrant-01d000").mkdir()       # an older run's dir with no owner file
    fake = FakeVirsh(["phx-vg-c0ffee-default", "phx-vg-dead01-default", "phx-vg-01d000-default",
                      "phx-vg-abcdef-default", "someone-else"])
    monkeypatch.setattr(driver.runner, "run", fake)
    monkeypatch.setattr(driver.time, "sleep", lambda _s: None)
    monkeypatch.setattr(driver.shutil, "which", lambda _n: "/usr/bin/virsh")
    assert sorted(driver.reap_stale_domains()) == ["phx-vg-01d000-default", "phx-vg-abcdef-default",
                                                   "phx-vg-dead01-default"]
    assert fake.domains == ["phx-vg-c0ffee-default", "someone-else"]
