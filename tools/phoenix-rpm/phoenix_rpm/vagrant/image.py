"""The local Vagrant box: the nspawn box root plus a kernel, as a libvirt ``.box``.

Why a box of our own: this machine is offline (no Vagrant Cloud), and the VM
should be the same Debian 12 system the nspawn verification boots, so a
package that passes one passes for the same reasons in the other. The image
is the cached box root (tools/phoenix-rpm/phoenix_rpm/box/root.py, with its
``phoenix-box-base`` rpm provides) plus a *VM profile* added in a throw-away
overlay:

* ``linux-image-cloud-amd64`` (virtio drivers, small) and its initramfs,
  booted directly by qemu (``-kernel``/``-initrd``: no boot loader);
* ``qemu-guest-agent``, through which vagrant-libvirt learns the guest's
  address without a libvirt network;
* an fstab, systemd-networkd with static link-local addresses on the two
  NICs the Vagrantfile gives the VM (matched by their fixed MACs), and
  root's authorized key (a key generated for this box).

The tree becomes an ext4 filesystem (``mkfs.ext4 -d``), a qcow2
(``qemu-img convert``) and a libvirt box (metadata.json, Vagrantfile,
box.img, the kernel, the initrd, the private key), which ``vagrant box add``
registers. Cached like the box root: keyed by the root's key and this
profile, made once (about 2 minutes), then reused.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Sequence

from phoenix_rpm import cachedirs, runner
from phoenix_rpm.box import provides, run_in, throwaway
from phoenix_rpm.box.root import _locked, ensure_root
from phoenix_rpm.box.root import box_key as root_key
from phoenix_rpm.box.ssh import authorize, generate_key
from phoenix_rpm.errors import CheckFailed

# Bump when the VM profile below changes: the cache key changes with it.
VM_RECIPE_VERSION = "2"

VM_PACKAGES: tuple[str, ...] = ("linux-image-cloud-amd64", "qemu-guest-agent")

# The two NICs the Vagrantfile (PHOENIX_VAGRANT_LOCAL=1) gives the VM. Their
# MACs are fixed so the guest can address them statically: link-local only,
# nothing in a private range, no DHCP needed.
SSH_NIC_MAC = "52:54:00:78:00:15"      # qemu user-mode NIC with the hostfwd ports
SSH_NIC_NET = "169.254.78.0/24"
SSH_NIC_HOST = "169.254.78.2"          # qemu's own address on that NIC
SSH_NIC_GUEST = "169.254.78.15"
AGENT_NIC_MAC = "52:54:00:78:00:02"    # libvirt's user-type interface (guest-agent address)
AGENT_NIC_GUEST = "169.254.79.15"

KERNEL_CMDLINE = "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.show_status=0"

BOX_VAGRANTFILE = f"""\
# The phoenix Debian 12 box (tools/phoenix-rpm/phoenix_rpm/vagrant/image.py): log in as
# root with the key shipped in the box; qemu boots the kernel directly.
Vagrant.configure("2") do |config|
  here = File.dirname(__FILE__)
  config.ssh.username = "root"
  config.ssh.private_key_path = File.join(here, "vagrant_private_key")
  config.ssh.insert_key = false
  # root needs no sudo (and the box has none).
  config.ssh.sudo_command = "%c"
  config.vm.guest = :debian
  config.vm.provider :libvirt do |lv|
    lv.kernel = File.join(here, "vmlinuz")
    lv.initrd = File.join(here, "initrd.img")
    lv.cmd_line = "{KERNEL_CMDLINE}"
    lv.disk_bus = "virtio"
  end
end
"""


def cache_dir() -> Path:
    return cachedirs.vagrant_images()


def box_key(root_key: str) -> str:
    text = "\n".join([f"root={root_key}", f"vm-recipe={VM_RECIPE_VERSION}", *VM_PACKAGES,
                      SSH_NIC_MAC, SSH_NIC_GUEST, AGENT_NIC_MAC, AGENT_NIC_GUEST, KERNEL_CMDLINE,
                      BOX_VAGRANTFILE])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def box_name(key: str) -> str:
    """The name ``vagrant box add`` registers: the key in it, so a stale box is never reused."""
    return f"phoenix-debian12-{key}"


def network_files() -> dict[str, str]:
    """systemd-networkd files of the VM profile (path under /etc -> text)."""
    return {
        "systemd/network/10-phoenix-ssh.network": (
            "# qemu user-mode NIC: ssh and the API come in through hostfwd on the host's 127.0.0.1\n"
            f"[Match]\nMACAddress={SSH_NIC_MAC}\n\n[Network]\nAddress={SSH_NIC_GUEST}/24\n"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
        ),
        "systemd/network/20-phoenix-agent.network": (
            "# libvirt's user-type NIC: only there so the guest agent reports an address\n"
            f"[Match]\nMACAddress={AGENT_NIC_MAC}\n\n[Network]\nAddress={AGENT_NIC_GUEST}/24\n"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
        ),
    }


def ensure_box(*, refresh: bool = False, extra: Sequence[str] = ()) -> str:
    """The local box, built and ``vagrant box add``-ed on first use; returns its name.

    ``extra``: Debian packages the VM must also hold (the backing servers of a
    verify profile, docs/verify.md): the image is made from the root that has
    them, and cached under its own key, like the nspawn roots.
    """
    root = ensure_root(extra=extra)
    key = box_key(root_key(extra=extra))
    name = box_name(key)
    base = cache_dir() / key
    box_file = base / f"{name}.box"
    cache_dir().mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir() / f"{key}.lock"):
        if refresh and base.exists():
            shutil.rmtree(base)
        created = False
        if not (base / "box.json").is_file() or not box_file.is_file():
            _create(root, base, box_file, key)
            created = True
            older = sorted(p.name for p in cache_dir().iterdir() if p.is_dir() and p.name != key)
            if older:
                runner.log(f"    older Vagrant boxes are still cached: {', '.join(box_name(k) for k in older)}; "
                           "remove them with: tools/build-box --prune")
        else:
            runner.log(f"==> vagrant box {name}: cached at {box_file}")
        if created or name not in installed_boxes():
            # vagrant-libvirt keeps its upload of a box in the storage pool by
            # box name: a rebuilt box must not boot from the old upload.
            forget_uploads(name)
            with runner.stage(f"vagrant box add {name}"):
                runner.run(["vagrant", "box", "add", "--force", "--name", name, box_file], timeout=600)
    return name


def forget_uploads(name: str) -> list[str]:
    """Delete vagrant-libvirt's uploads of box ``name`` from libvirt's default pool."""
    uri = ["virsh", "-c", "qemu:///system"]
    vols = runner.run([*uri, "vol-list", "default"], check=False, capture=True, timeout=30)
    gone = []
    for line in vols.stdout.splitlines()[2:]:
        parts = line.split()
        if parts and parts[0].startswith(f"{name}_vagrant_box_image"):
            runner.run([*uri, "vol-delete", parts[0], "--pool", "default"], check=False, capture=True, timeout=60)
            gone.append(parts[0])
    return gone


def installed_boxes() -> list[str]:
    proc = runner.run(["vagrant", "box", "list", "--machine-readable"], check=False, capture=True, timeout=120)
    names = []
    for line in proc.stdout.splitlines():
        parts = line.split(",")
        if len(parts) >= 4 and parts[2] == "box-name":
            names.append(parts[3])
    return names


def _create(root: Path, base: Path, box_file: Path, key: str) -> None:
    if base.exists():
        shutil.rmtree(base)
    work = base / "tmp"
    work.mkdir(parents=True)
    started = time.monotonic()
    timings: dict[str, float] = {}
    with throwaway(root) as tree:
        t0 = time.monotonic()
        _configure_initramfs(tree)
        with runner.stage(f"VM profile: apt-get install {' '.join(VM_PACKAGES)}"):
            run_in(tree, ["sh", "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
                          + " ".join(VM_PACKAGES) + " && apt-get clean && rm -rf /var/lib/apt/lists/*"],
                   network=True, env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=1200)
        timings["apt_seconds"] = time.monotonic() - t0
        with runner.stage("VM profile: fstab, networkd, root's key, provides"):
            _configure(tree)
            run_in(tree, ["systemctl", "enable", "systemd-networkd.service"])
            key_path = generate_key(work / "vagrant_private_key")
            authorize(tree, key_path.with_suffix(".pub"))
            # The tree now has a kernel and the agent: re-record what rpm may rely on.
            provides.install_into(tree)
        kernels = sorted((tree / "boot").glob("vmlinuz-*"))
        initrds = sorted((tree / "boot").glob("initrd.img-*"))
        if not kernels or not initrds:
            raise CheckFailed(f"the VM profile has no kernel/initrd in /boot ({kernels}, {initrds})")
        shutil.copyfile(kernels[-1], work / "vmlinuz")
        shutil.copyfile(initrds[-1], work / "initrd.img")
        t0 = time.monotonic()
        with runner.stage("VM image: mkfs.ext4 -d + qemu-img convert -O qcow2"):
            size_gb = _image_size_gb(tree)
            raw = work / "root.raw"
            with open(raw, "wb") as f:
                f.truncate(size_gb * 1024 ** 3)
            runner.run(["mkfs.ext4", "-q", "-F", "-L", "phoenix-root", "-d", tree, raw], timeout=900)
        runner.run(["qemu-img", "convert", "-O", "qcow2", raw, work / "box.img"], timeout=900)
        raw.unlink()
    timings["image_seconds"] = time.monotonic() - t0
    (work / "metadata.json").write_text(json.dumps(
        {"provider": "libvirt", "format": "qcow2", "virtual_size": size_gb}) + "\n")
    (work / "Vagrantfile").write_text(BOX_VAGRANTFILE)
    with runner.stage(f"pack {box_file.name}"):
        members = ["metadata.json", "Vagrantfile", "box.img", "vmlinuz", "initrd.img", "vagrant_private_key"]
        runner.run(["tar", "-cf", box_file, "-C", work, *members], timeout=600)
    shutil.rmtree(work)
    meta = {"key": key, "name": box_name(key), "packages": list(VM_PACKAGES), "recipe": VM_RECIPE_VERSION,
            "virtual_size_gb": size_gb, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.monotonic() - started, 1), **{k: round(v, 1) for k, v in timings.items()}}
    (base / "box.json").write_text(json.dumps(meta, indent=2) + "\n")


def _configure(tree: Path) -> None:
    """The VM profile's file edits (the box root's own configuration stays as it is)."""
    etc = tree / "etc"
    (etc / "fstab").write_text(
        "# phoenix VM: one ext4 filesystem, the whole virtio disk; no fsck pass (throw-away VM)\n"
        "/dev/vda / ext4 rw,relatime 0 0\n"
    )
    (etc / "hostname").write_text("phoenix-vm\n")
    # One ed25519 host key per VM, made at its first boot: the box root's
    # ssh-keygen -A (RSA 3072 + ECDSA too) takes ~30 s under emulation.
    dropin = etc / "systemd/system/ssh.service.d/phoenix-host-keys.conf"
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text(
        "[Service]\nExecStartPre=\n"
        "ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || "
        "ssh-keygen -q -t ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key'\n"
        "ExecStartPre=/usr/sbin/sshd -t\n"
    )
    (etc / "ssh/sshd_config.d/phoenix-vm.conf").write_text("HostKey /etc/ssh/ssh_host_ed25519_key\n")
    for unit in VM_MASKED_UNITS:
        link = etc / "systemd/system" / unit
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to("/dev/null")
    for rel, text in network_files().items():
        path = etc / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# Software emulation makes every boot second count (docs/vagrant.md: qemu TCG, no KVM).
# The initramfs holds only what finds the root disk (ext4 is built into the
# cloud kernel; virtio is not): a tiny initrd and no udev crawl over all modules.
INITRAMFS_MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "virtio_console")

# Units that cost tens of seconds under emulation and do nothing for a
# throw-away VM (e2scrub_reap: 40 s scanning LVM snapshots there are none of).
VM_MASKED_UNITS = ("e2scrub_reap.service", "systemd-random-seed.service", "keyboard-setup.service")


def _configure_initramfs(tree: Path) -> None:
    conf = tree / "etc/initramfs-tools"
    (conf / "conf.d").mkdir(parents=True, exist_ok=True)
    (conf / "conf.d/phoenix-vm.conf").write_text("# phoenix VM: only the listed modules\nMODULES=list\nCOMPRESS=gzip\n")
    (conf / "modules").write_text("\n".join(INITRAMFS_MODULES) + "\n")


def _image_size_gb(tree: Path) -> int:
    """Room for the tree, the package under test and its data: used size x1.5 + 1 GiB, at least 3."""
    proc = runner.run(["du", "-sxm", tree], capture=True)
    used_mb = float(proc.stdout.split()[0])
    return max(3, int(used_mb * 1.5 / 1024) + 2)
