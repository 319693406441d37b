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
