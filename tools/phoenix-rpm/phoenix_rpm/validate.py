"""Validation at the edge: every project-controlled value checked once, before planning.

The escaping layer (escape.py) makes any value inert in the file it lands
in; this module refuses, with one line naming the file and the key, what
would still be wrong once inert: a name that is not a name (an entry point
called ``../../etc/x``), a source outside the project (``/etc/shadow``, a
symlink to it, ``..``), a target outside the places a package of this
project may write, a unit override that gives the service privileges
(``User=root``, ``AmbientCapabilities=``, ``NoNewPrivileges=no``) or a
privileged group (``shadow``, ``disk``...). Privileges and system paths are
possible, but only through an explicit opt-in key (``allow_privileged``,
``allow_system_paths``) a reviewer sees in the project file: see
docs/packaging.md, "Hostile input and the trust boundary".
"""
from __future__ import annotations

import glob
import os
import re
import shlex
from pathlib import Path
from typing import Any, Iterable

from phoenix_rpm.errors import UserError
from phoenix_rpm.escape import CONTROL, EXEC_KEYS
from phoenix_rpm.model import InstallMode, Project

PACKAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
#: console/wsgi script names: also a file name in bin/ and a unit name
SCRIPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
PYTHON_PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")
#: groups whose members can read secrets, write disks or become root
PRIVILEGED_GROUPS = frozenset({
    "root", "wheel", "sudo", "admin", "adm", "shadow", "disk", "kmem", "mem", "tty", "sys", "lp",
    "dialout", "docker", "lxd", "libvirt", "kvm", "systemd-journal", "utmp", "staff", "operator",
    "bin", "daemon", "video", "audio", "input", "render", "nobody", "nogroup",
})
#: unit keys that change who the service runs as or what it may do
PRIVILEGE_KEYS = frozenset({
    "User", "Group", "DynamicUser", "SupplementaryGroups", "AmbientCapabilities", "CapabilityBoundingSet",
    "PrivateUsers", "PrivateNetwork", "BindPaths", "BindReadOnlyPaths", "ReadWritePaths", "PAMName",
    "RootDirectory", "RootImage", "SecureBits",
})
#: keys of units.HARDENING: an override may tighten them only with the opt-in
#: (any change of the sandbox is a change a reviewer must see)
SANDBOX_PREFIXES = ("Protect", "Private", "Restrict", "NoNewPrivileges", "SystemCall", "MemoryDeny",
                    "LockPersonality", "RemoveIPC", "DevicePolicy", "ProcSubset", "UMask", "IPAddress",
                    "SocketBind", "Capability", "Ambient")
#: systemd command-line prefixes (systemd.service(5)): '+' and '!' run with full privileges
EXEC_PREFIX = re.compile(r"^[-@:+!|]+")
#: system places a package of a service must not write without the
#: ``allow_system_paths`` opt-in: a file there runs as root or changes how
#: the machine authenticates, boots or resolves names (cron.d, sudoers.d,
#: profile.d, pam.d, ld.so.conf.d, systemd units...).
SYSTEM_ETC = frozenset({
    "sudoers", "sudoers.d", "crontab", "cron.d", "cron.daily", "cron.hourly", "cron.weekly", "cron.monthly",
    "anacrontab", "profile", "profile.d", "bashrc", "bash.bashrc", "environment", "ld.so.conf", "ld.so.conf.d",
    "ld.so.preload", "pam.d", "security", "systemd", "udev", "modprobe.d", "modules-load.d", "modules",
    "sysctl.conf", "sysctl.d", "tmpfiles.d", "sysusers.d", "passwd", "shadow", "group", "gshadow",
    "subuid", "subgid", "ssh", "polkit-1", "dbus-1", "yum.repos.d", "yum.conf", "dnf", "apt", "rpm",
    "init.d", "rc.d", "rc.local", "xinetd.d", "logrotate.d", "logrotate.conf", "selinux", "hosts",
    "resolv.conf", "nsswitch.conf", "fstab", "crypttab", "rsyslog.d", "rsyslog.conf", "audit", "shells",
    "login.defs", "alternatives", "skel", "default", "kernel", "dracut.conf.d", "binfmt.d", "environment.d",
    "NetworkManager", "network-scripts", "sysconfig", "pki", "ca-certificates", "containers", "docker",
    "motd", "issue", "os-release", "machine-id", "localtime", "sudo.conf", "doas.conf",
    # code or settings loaded by desktops, shells, DHCP/PPP hooks, boot loaders and pip (root's too)
    "xdg", "X11", "bash_completion.d", "update-motd.d", "dhcp", "ppp", "grub.d", "zprofile", "zshrc", "zshenv",
    "zlogin", "zlogout", "csh.cshrc", "csh.login", "inputrc", "ld.so.cache", "pip.conf", "yum", "apparmor.d",
    "firewalld", "nftables", "crypto-policies", "locale.conf", "hostname", "gdm", "lightdm", "sddm",
    "init", "tuned", "python3", "python", "sssd", "krb5.conf", "krb5.conf.d", "pkcs11", "gnupg", "nsswitch.d",
    # trust anchors and what root's tools load (debugger, editors, download tools, git)
    "ssl", "gdbinit", "gdbinit.d", "vimrc", "virc", "vim", "nanorc", "wgetrc", "curlrc", "gitconfig", "npmrc",
    "fish", "zsh", "mime.types", "mailcap", "ssh_config", "ssh_config.d", "sshd_config.d", "motd.d",
})
SYSTEM_PREFIXES = ("/bin/", "/sbin/", "/boot/", "/dev/", "/proc/", "/sys/", "/root/", "/home/", "/run/",
                   "/tmp/", "/var/tmp/", "/var/spool/", "/var/run/", "/lib/", "/lib64/", "/usr/sbin/",
                   "/usr/lib/systemd/", "/usr/lib/sysusers.d/", "/usr/lib/tmpfiles.d/", "/usr/lib/udev/",
                   "/usr/lib/modprobe.d/", "/usr/lib/modules-load.d/", "/usr/lib/sysctl.d/", "/usr/lib/binfmt.d/",
                   "/usr/lib/environment.d/", "/usr/lib/rpm/", "/usr/lib/polkit-1/", "/usr/share/polkit-1/",
                   "/usr/share/dbus-1/", "/usr/lib/security/", "/usr/lib64/security/", "/usr/lib/pam.d/",
                   "/usr/lib/kernel/", "/usr/lib/dracut/", "/usr/lib/modules/", "/usr/libexec/sudo/",
                   "/usr/lib/sudo/", "/usr/lib/firmware/", "/var/lib/rpm/", "/var/lib/dpkg/",
                   # /usr/local/ comes first in root's PATH (/usr/local/sbin/ls shadows ls); shared
                   # libraries and NSS modules are loaded by every process; the rpm database
                   "/usr/local/", "/usr/lib64/", "/usr/lib/x86_64-linux-gnu/", "/usr/lib/aarch64-linux-gnu/",
                   "/usr/lib/sysimage/", "/usr/lib/NetworkManager/", "/usr/share/xsessions/",
                   "/usr/share/wayland-sessions/", "/var/lib/polkit-1/", "/usr/lib/debug/", "/usr/share/factory/",
                   # trust anchors (a CA there lets its holder impersonate any server), code that
                   # root's shells, debugger and editor load (bash completion, gdb auto-load, vim
                   # plugins), user units, the firewall's and X's machine config, glibc's locales
                   "/usr/share/pki/", "/usr/share/ca-certificates/", "/usr/lib/ssl/", "/usr/share/bash-completion/",
                   "/usr/share/zsh/", "/usr/share/fish/", "/usr/share/gdb/", "/usr/share/vim/", "/usr/share/systemd/",
                   "/usr/lib/firewalld/", "/usr/share/X11/", "/usr/lib/locale/", "/usr/share/applications/",
                   "/usr/share/selinux/", "/usr/lib/motd.d/", "/usr/share/crypto-policies/")
#: what makes Python (every interpreter, root's dnf included) or a desktop
#: session run a file wherever it sits: a .pth file in any import path, an
#: import path itself, an autostart folder
CODE_LOADING = [(re.compile(p), what) for p, what in (
    (r"\.pth$", "a .pth file"),
    (r"/(site|dist)-packages(/|$)", "a site-packages or dist-packages folder (an import path)"),
    (r"/(site|user)customize\.py$", "sitecustomize.py/usercustomize.py"),
    (r"/autostart(/|$)", "an autostart folder"),
    (r"^/usr/(lib|lib64|libexec|share)/python[\d.]*(/|$)", "the system Python's library folder"),
)]


def code_loading(path: str) -> str | None:
    """Why a target path is loaded as code wherever it sits (CODE_LOADING), or None."""
    for pattern, what in CODE_LOADING:
        if pattern.search(path.rstrip("/")):
            return (f"{what} is loaded as code by every Python process or desktop session on the machine "
                    "(root's dnf too)")
    return None


def system_target(path: str) -> str | None:
    """Why an absolute target path is a system place, or None when a package may own it."""
    if not path.startswith("/"):
        return None
    reason = code_loading(path)
    if reason:
        return reason
    parts = path.strip("/").split("/")
    if parts[0] == "etc" and len(parts) > 1:
        top = parts[1]
        if top in SYSTEM_ETC or re.match(r"^rc\d?\.d$|^cron", top):
            return f"/etc/{top} is a system folder (what is there runs as root or configures the machine)"
        return None
    if parts[0] == "etc":
        return "/etc itself is the system's"
    slashed = path.rstrip("/") + "/"
    for prefix in SYSTEM_PREFIXES:
        if slashed.startswith(prefix):
            return f"{prefix} is a system folder"
    return None


VENV_PARENTS = ("/opt/", "/usr/lib/", "/usr/libexec/", "/usr/local/lib/", "/srv/")


def bad(path: Path | str, problem: str, fix: str, line: int | None = None) -> UserError:
    where = f"{path}:{line}" if line else f"{path}"
    return UserError(f"{where}: {problem}; {fix}")


def _labels(cfg: Path) -> dict[str, str]:
    """The key names the user wrote, per file format, for messages."""
    if cfg.name == "pyproject.toml":
        return {"summary": "[project] description", "license": "[project] license",
                "url": "[project.urls]", "author": "[project] authors name",
                "author_email": "[project] authors email", "description": "[project] readme",
                "ov": "[tool.phoenix.rpm]", "scripts": "[project.scripts]", "packages": "[tool.setuptools] packages",
                "description_file": "[project] readme", "packages_root": "[tool.setuptools] package-dir",
                "license_file": "[project] license.file"}
    return {"summary": "[metadata] summary", "license": "[metadata] license", "url": "[metadata] home_page",
            "author": "[metadata] author", "author_email": "[metadata] author_email",
            "description": "[metadata] description", "ov": "[phoenix:rpm]", "scripts": "[files] scripts",
            "packages": "[files] packages", "description_file": "[metadata] description_file",
            "packages_root": "[files] packages_root", "license_file": "license file"}


_BAD_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffd]")


def _printable(text: str) -> str | None:
    """What is wrong with a one-line value, or None."""
    if not _BAD_TEXT.search(text):  # the common case: one regex
        return None
    m = CONTROL.search(text)
    if m:
        return "contains a newline" if m.group(0) in "\r\n" else f"contains the control character {m.group(0)!r}"
    if re.search(r"[\ud800-\udfff\ufffd]", text):
        return "is not valid UTF-8"
    return None


#: longest one-line value: systemd refuses a unit line over 1 MiB (LONG_LINE_MAX) and
#: rpm tools and reviewers choke well before; no summary or license needs more
MAX_LINE = 4096


def _one_line(cfg: Path, label: str, value: str) -> None:
    if len(value) > MAX_LINE:
        raise bad(cfg, f"{label} is {len(value)} characters long ({value[:30]!r}...)",
                  f"shorten it to at most {MAX_LINE} characters (long text belongs in the description)")
    problem = _printable(value)
    if problem:
        raise bad(cfg, f"{label} {problem} ({value[:40]!r}...)" if len(value) > 40 else f"{label} = {value!r} {problem}",
                  "write it as one line of UTF-8 text (a newline would start a new spec tag or unit key)")


def check_project(project: Project) -> None:
    """Refuse any project-controlled value the generated files must not carry."""
    cfg = project.config_file
    labels = _labels(cfg)
    if not PACKAGE_NAME.match(project.name):
        raise bad(cfg, f"name {project.name!r} is not a valid rpm package name",
                  "use letters, digits, '.', '_', '+' and '-' (at most 100)")
    check_service_folders(cfg, project.name, project.overrides.allow_privileged)
    for key in ("summary", "license", "url", "author", "author_email"):
        _one_line(cfg, labels[key], str(getattr(project, key) or ""))
    if re.search(r"\s", project.url or ""):
        raise bad(cfg, f"{labels['url']} = {project.url!r} contains white space (rpm's URL: tag takes one token)",
                  "write the URL without spaces (encode them as %20)")
    desc = project.description or ""
    m = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]", desc)
    if m:
        raise bad(cfg, f"{labels['description']} contains the control character {m.group(0)!r}",
                  "remove it (plain text and newlines only)")
    for ep in project.entry_points:
        if not SCRIPT_NAME.match(ep.name) or ".." in ep.name:
            tail = ep.where.rsplit(":", 1)[-1]
            section = f"[entry_points] {ep.group}" if cfg.name == "setup.cfg" else ep.where.split(" ", 1)[-1]
            raise bad(cfg, f"{section}: entry point name {ep.name!r} is not a plain script name",
                      "use letters, digits, '.', '_' and '-', starting with a letter or digit "
                      "(it becomes bin/<name> and <name>.service)", int(tail) if tail.isdigit() else None)
    for pkg in project.packages:
        if not PYTHON_PACKAGE.match(pkg):
            raise bad(cfg, f"{labels['packages']}: {pkg!r} is not a Python package name",
                      "list dotted Python package names, e.g. demo or demo.api")
    root = _real_root(project.project_dir)
    if project.packages_root:
        inside(root, project.packages_root, cfg, labels["packages_root"], want_file=False)
    check_package_links(project, root, labels["packages"])
    for script in project.extra.get("scripts", []) or []:
        inside(root, script, cfg, labels["scripts"])
        base = Path(script).name
        if not SCRIPT_NAME.match(base):
            raise bad(cfg, f"{labels['scripts']}: {script!r}: {base!r} is not a plain script name",
                      "rename the script (letters, digits, '.', '_', '-')")
        if base in {ep.name for ep in project.entry_points if ep.group in ("console_scripts", "wsgi_scripts")}:
            raise bad(cfg, f"{labels['scripts']}: {script!r} and the entry point {base!r} would both install "
                      f"bin/{base}", "rename one of them")
    for df in project.data_files:
        # Symlinks were resolved where the list was made (inputs.py, one
        # lstat per file); here the text only, so a large list stays cheap.
        label = f"data_files ({df.where})" if df.where else "data_files"
        if os.path.isabs(df.source) or ".." in df.source.split("/"):
            raise bad(cfg, f"{label}: source {df.source!r} leaves the project folder",
                      "use a path relative to the project folder")
        _check_text(cfg, label, df.source)
        _check_text(cfg, label, df.target)
    for rel in [*project.doc_files, *project.license_files]:
        inside(root, rel, cfg, labels["description_file"] if rel in project.doc_files else labels["license_file"])
    check_overrides(project)


def check_package_links(project: Project, root: Path, label: str) -> None:
    """No symlink in a package folder may point outside the project.

    pbr's sdist copies what a link points at: ``demo/secret.py ->
    /etc/shadow`` would put the build host's /etc/shadow into the SRPM and
    the RPM. Every link under each top-level package (and a top-level
    ``<name>.py`` module) is resolved; links that stay inside are fine.
    One walk per package tree, links not followed: linear in its size.
    """
    cfg = project.config_file
    base = project.project_dir / project.packages_root if project.packages_root else project.project_dir
    top = str(root)
    tops = sorted({pkg.split(".")[0] for pkg in project.packages if PYTHON_PACKAGE.match(pkg)})

    def check(path: str) -> None:
        real = os.path.realpath(path)
        if real != top and not real.startswith(top + "/"):
            rel = os.path.relpath(path, project.project_dir)
            raise bad(cfg, f"{label}: {rel!r} is a symlink to {os.readlink(path)!r} ({real}), outside the project "
                      "folder (the sdist would copy what it points at)",
                      "replace the link by the file itself, or remove it")

    for name in tops:
        module = os.path.join(base, name + ".py")
        if os.path.islink(module):
            check(module)
        folder = os.path.join(base, name)
        if os.path.islink(folder):
            check(folder)
        for dirpath, dirnames, filenames in os.walk(folder):
            for entry in (*dirnames, *filenames):
                full = os.path.join(dirpath, entry)
                if os.path.islink(full):
                    check(full)


def _real_root(project_dir: Path) -> Path:
    return Path(os.path.realpath(project_dir))


# Per-run caches of resolved folders (a large data_files has thousands of
# files in few folders); reset_caches() at the start of every run, so a
# folder swapped for a symlink between two runs of one process is seen.
_REAL_DIRS: dict[str, str] = {}
_PARENT_INSIDE: dict[tuple[str, str], bool] = {}


def reset_caches() -> None:
    from phoenix_rpm import inputs

    _REAL_DIRS.clear()
    _PARENT_INSIDE.clear()
    inputs._ROOTS.clear()  # noqa: SLF001


def _realpath(path: str, is_link: bool | None = None) -> str:
    """os.path.realpath with the parent folders cached: one lstat per file of a large data_files."""
    parent, base = os.path.split(path)
    real_parent = _REAL_DIRS.get(parent)
    if real_parent is None:
        real_parent = _REAL_DIRS[parent] = os.path.realpath(parent)
    joined = os.path.join(real_parent, base)
    if base in ("..", ".") or (os.path.islink(joined) if is_link is None else is_link):
        return os.path.realpath(joined)
    return joined


def inside(root: Path, rel: str, cfg: Path, label: str, *, want_file: bool = True, line: int | None = None,
           is_link: bool | None = None) -> str:
    """``rel`` resolved (symlinks too) must stay inside the project folder ``root``.

    ``is_link``: the caller has lstat()ed the file already (saves a system
    call per file of a large data_files; docs/benchmarks.md).
    """
    problem = _printable(rel)
    if problem:
        raise bad(cfg, f"{label}: the path {rel!r} {problem}", "rename the file (UTF-8, no control characters)", line)
    top = str(root)
    if (is_link is False and not want_file and rel and rel[0] != "/" and ".." not in rel and "//" not in rel
            and "/." not in "/" + rel):
        # fast path of a large data_files: a plain file in a folder checked before
        parent = rel.rpartition("/")[0]
        key = (top, parent)
        if key not in _PARENT_INSIDE:
            real_parent = os.path.realpath(os.path.join(top, parent))
            _PARENT_INSIDE[key] = real_parent == top or real_parent.startswith(top + "/")
        if _PARENT_INSIDE[key]:
            return os.path.join(top, rel)
    if os.path.isabs(rel):
        raise bad(cfg, f"{label}: source {rel!r} is an absolute path", "use a path relative to the project folder", line)
    joined = os.path.join(top, rel)
    if ".." in rel or is_link:
        real = os.path.realpath(joined)
    else:
        plain = "//" not in rel and "/." not in "/" + rel and not rel.endswith("/")
        real = _realpath(joined if plain else os.path.normpath(joined), is_link)
    if real != top and not real.startswith(top + "/"):
        how = "through a symlink" if ".." not in rel.split("/") else "with '..'"
        raise bad(cfg, f"{label}: source {rel!r} leaves the project folder {how} (to {real})",
                  "package only files inside the project; copy the file in if it belongs to it", line)
    if want_file and os.path.exists(real) and not os.path.isfile(real):
        raise bad(cfg, f"{label}: source {rel!r} is not a regular file", "point it at a file", line)
    return real


def _check_text(cfg: Path, label: str, value: str) -> None:
    problem = _printable(value)
    if problem:
        raise bad(cfg, f"{label}: {value!r} {problem}", "rename it (UTF-8, no control characters)")


def check_targets(project: Project, mode: InstallMode, venv_dir: str | None) -> None:
    """Where files land: not a system place, unless ``allow_system_paths`` says otherwise."""
    ov = project.overrides
    cfg = project.config_file
    label_ov = _labels(cfg)["ov"]
    prefix = venv_dir if mode is InstallMode.BUNDLED and venv_dir else "/usr"
    for dest, src in ov.extra_files.items():
        problem = _printable(dest) or _printable(src)
        if problem:
            raise bad(cfg, f"{label_ov} extra_files: {dest!r} = {src!r} {problem}", "rename it")
        if dest.startswith("/") and os.path.normpath(dest) != dest.rstrip("/"):
            raise bad(cfg, f"{label_ov} extra_files: target {dest!r} is not a normal path "
                      f"(it means {os.path.normpath(dest)!r})", "write the target without '.', '..' or '//'")
    if ov.allow_system_paths:
        return
    fix = (f"install it under /etc/{project.name}/ or /usr/share/{project.name}/, or set "
           f"{label_ov} allow_system_paths = true if the package really must")
    own_venv = prefix + "/" if prefix != "/usr" else None

    def reason_for(where: str) -> str | None:
        # inside the package's own venv only what loads code is refused (the
        # venv's folders are the package's, wherever venv_dir put it)
        if own_venv and (where + "/").startswith(own_venv):
            return code_loading(where)
        return system_target(where)

    seen_dirs: dict[str, str | None] = {}
    for df in project.data_files:
        t = df.target
        where_to = "/" + t if t == "etc" or t.startswith("etc/") else f"{prefix}/{t}"
        folder = where_to.rsplit("/", 1)[0]
        if folder not in seen_dirs:  # one check per folder, not per file
            seen_dirs[folder] = reason_for(folder + "/")
        reason = (seen_dirs[folder] or (reason_for(where_to) if folder in ("", "/etc") else None)
                  or (reason_for(where_to) if where_to.endswith((".pth", "customize.py")) else None))
        if reason:
            tail = df.where.rsplit(":", 1)[-1]
            raise bad(cfg, f"data_files: target {t!r} -> {where_to}: {reason}", fix,
                      int(tail) if tail.isdigit() else None)
    for dest in ov.extra_files:
        reason = system_target(dest)
        if reason:
            raise bad(cfg, f"{label_ov} extra_files: target {dest!r}: {reason}", fix)


def check_venv_dir(project: Project, venv_dir: str) -> None:
    cfg = project.config_file
    label = f"{_labels(cfg)['ov']} venv_dir"
    if not re.match(r"^/[A-Za-z0-9._+/-]+$", venv_dir) or os.path.normpath(venv_dir) != venv_dir:
        raise bad(cfg, f"{label} = {venv_dir!r} is not a plain absolute folder",
                  f"use e.g. /usr/lib/{project.name} or /opt/{project.name} (letters, digits, '._+-/')")
    # /usr/local/lib/<name> stays a possible venv (docs/packaging.md); the rest of /usr/local/ is refused
    local_venv = venv_dir.startswith("/usr/local/lib/") and not code_loading(venv_dir + "/") \
        and not re.match(r"^/usr/local/lib/python", venv_dir)
    if (not venv_dir.startswith(VENV_PARENTS) or venv_dir.count("/") < 3 and not venv_dir.startswith("/opt/")
            or (not local_venv and system_target(venv_dir + "/"))):
        raise bad(cfg, f"{label} = {venv_dir!r} is not a folder of its own under {', '.join(VENV_PARENTS)}",
                  f"use e.g. /usr/lib/{project.name} or /opt/{project.name}")


#: folders under /var/lib, /run, /var/log and /var/cache that belong to the
#: system: a service named like one would get it (StateDirectory=<name>,
#: RuntimeDirectory=<name>...), created or taken over and chowned
#: recursively to the service user by systemd (systemd.exec(5))
SYSTEM_STATE_NAMES = frozenset({
    "rpm", "dpkg", "systemd", "dbus", "polkit-1", "polkitd", "udev", "sudo", "ssh", "sshd", "dnf", "yum",
    "apt", "selinux", "audit", "lock", "user", "log", "shm", "credentials", "private", "machines",
    "portables", "networkmanager", "sss", "sssd", "chrony", "rsyslog", "journal", "cron", "crond", "at",
    "lastlog", "alternatives", "tpm2-tss", "initramfs", "boot", "kernel", "pam", "faillock", "utmp", "root",
    "nscd", "containers", "libvirt", "docker", "ldconfig", "rpm-state", "dracut", "firewalld", "gdm",
    "lightdm", "cups", "postfix", "mail", "spool", "tmp", "cache", "lib", "run", "home", "etc", "var", "usr",
    "snapd", "flatpak", "fwupd", "pki", "tuned", "kdump", "logrotate", "plymouth", "unbound", "named",
    "bind", "dhclient", "dhcpd", "nfs", "samba", "mysql", "pgsql", "postgresql", "rabbitmq", "redis",
    "mongodb", "mariadb", "httpd", "nginx", "apache2", "setroubleshoot", "abrt", "sysstat",
    "passwd", "shadow", "group", "gshadow", "lxc", "lxd", "incus", "podman", "osbuild", "ipa", "krb5kdc",
})


#: units of the system's own services (and of common servers) a package's unit must not be named
#: like: /usr/lib/systemd/system/<name>.service would replace it or, unowned, take its name
SYSTEM_UNITS = frozenset({
    "emergency", "rescue", "getty", "serial-getty", "console-getty", "container-getty", "autovt", "sshd",
    "ssh", "dbus", "dbus-broker", "polkit", "auditd", "crond", "cron", "atd", "chronyd", "rsyslog",
    "network", "networkmanager", "networking", "firewalld", "nftables", "iptables", "sssd", "nscd",
    "nslcd", "rpcbind", "gssproxy", "irqbalance", "kdump", "tuned", "ldconfig", "kmod-static-nodes",
    "multipathd", "iscsid", "lvm2-monitor", "dnf-makecache", "rpmdb-rebuild", "httpd", "nginx", "apache2",
    "postfix", "sendmail", "mariadb", "mysqld", "mysql", "postgresql", "rabbitmq-server", "memcached",
    "redis", "redis-server", "docker", "containerd", "podman", "libvirtd", "qemu-guest-agent", "cloud-init",
    "cloud-config", "cloud-final", "cloud-init-local", "named", "unbound", "dnsmasq", "avahi-daemon",
    "cups", "gdm", "sddm", "lightdm", "display-manager", "user", "default", "reboot", "poweroff", "halt",
    "kexec", "shutdown", "sudo", "uwsgi", "logrotate", "plymouth-start", "fstrim", "sysstat",
})


def system_unit(name: str) -> bool:
    """A unit name a system service owns (SYSTEM_UNITS, ``systemd-*``)."""
    low = name.lower()
    return low in SYSTEM_UNITS or low.startswith(("systemd-", "dbus-org.", "initrd"))


def check_service_folders(cfg: Path, name: str, allow: bool) -> None:
    """A project must not be named after a system folder (see SYSTEM_STATE_NAMES).

    Its folders are named after it: /var/lib/<name>, /run/<name> and
    /var/log/<name> (the units' StateDirectory=... hand them to the service
    user), /usr/lib/<name> (the bundled venv), /etc/<name>.
    """
    if (name.lower() in SYSTEM_STATE_NAMES or name in SYSTEM_ETC) and not allow:
        raise bad(cfg, f"name {name!r} is the name of a system folder (/var/lib/{name}, /run/{name}, "
                  f"/usr/lib/{name}...): the package and its services' units would take that folder over",
                  "rename the project, or set allow_privileged = true if it really is that system's package")


#: accounts of the system's own daemons and of common servers: a service running
#: as one of them owns (reads, writes) that daemon's data (a ``user = postgres``
#: reads every database), so they are refused like the privileged groups
OTHER_SERVICE_ACCOUNTS = frozenset({
    "sshd", "dbus", "messagebus", "polkitd", "rpc", "rpcuser", "tss", "chrony", "_chrony", "unbound",
    "dnsmasq", "avahi", "colord", "geoclue", "gdm", "sddm", "lightdm", "rtkit", "pulse", "pipewire",
    "saslauth", "mail", "postfix", "postdrop", "exim", "dovecot", "ftp", "games", "man", "news", "uucp",
    "proxy", "backup", "list", "irc", "gnats", "halt", "shutdown", "sync", "lpadmin", "www-data", "apache",
    "nginx", "httpd", "postgres", "mysql", "mariadb", "mongodb", "redis", "memcached", "rabbitmq", "named",
    "ntp", "openldap", "ldap", "sssd", "clevis", "setroubleshoot", "libstoragemgmt", "cockpit-ws",
    "cockpit-wsinstance", "qemu", "libvirt-qemu", "usbmux", "nm-openvpn", "haproxy",
})


def check_account(cfg: Path, label: str, value: str, allow: bool, fix: str = "") -> None:
    if not ACCOUNT_NAME.match(value):
        raise bad(cfg, f"{label} = {value!r} is not a valid system account name",
                  "use lower-case letters, digits, '_' and '-', at most 31 characters")
    if (value in OTHER_SERVICE_ACCOUNTS or value.startswith("systemd-")) and value not in PRIVILEGED_GROUPS \
            and not allow:
        raise bad(cfg, f"{label} = {value}: the account of another service or of the system (the service "
                  "would own that one's files and data)", fix or "remove the key (a system user named after "
                  "the project is created), or set allow_privileged = true if the service really shares it")
    if value in PRIVILEGED_GROUPS and not allow:
        raise bad(cfg, f"{label} = {value}: a privileged system account (it can read secrets, "
                  "write disks or become root)", fix or "remove the key (a system user named after the project "
                  "is created), or set allow_privileged = true if the service really needs it")


def check_overrides(project: Project) -> None:
    ov = project.overrides
    cfg = project.config_file
    label_ov = _labels(cfg)["ov"]
    allow = ov.allow_privileged
    for key in ("user", "group"):
        value = getattr(ov, key)
        if value is not None:
            _one_line(cfg, f"{label_ov} {key}", value)
            if value.strip():
                check_account(cfg, f"{label_ov} {key}", value.strip(), allow)
    for key in ("release", "install_mode", "venv_dir"):
        value = getattr(ov, key)
        if value is not None:
            _one_line(cfg, f"{label_ov} {key}", value)
    for names in (ov.services or [], ov.tools or []):
        for n in names:
            _one_line(cfg, f"{label_ov} services/tools", n)
    root = _real_root(project.project_dir)
    for dest, src in ov.extra_files.items():
        inside(root, src, cfg, f"{label_ov} extra_files: {dest}")
    for service, keys in ov.unit_overrides.items():
        for key, value in keys.items():
            check_unit_override(cfg, label_ov, service, key, value, allow, project.name)


#: keys PID 1 applies as root before the service starts: a path there is
#: opened or read by root (EnvironmentFile=/root/.aws/credentials hands the
#: service root's secrets; StandardOutput=file:/etc/passwd hands it a
#: writable /etc/passwd), a negative Nice/OOMScoreAdjust is a privilege, and
#: Alias= makes the unit answer to another unit's name (sshd.service)
ROOT_APPLIED = frozenset({"EnvironmentFile", "StandardInput", "StandardOutput", "StandardError", "PIDFile",
                          "Nice", "OOMScoreAdjust", "Alias", "Also"})


def _root_applied_problem(key: str, value: str, name: str) -> str | None:
    v = value.strip()
    if key == "EnvironmentFile":
        path = v.lstrip("-")
        if not path.startswith(f"/etc/{name}/") or ".." in path.split("/"):
            return f"reads {path!r} as root (only /etc/{name}/ files are allowed)"
    elif key.startswith("Standard"):
        kind, _, path = v.partition(":")
        if kind in ("file", "append", "truncate") and (not path.startswith(f"/var/log/{name}/")
                                                        or ".." in path.split("/")):
            return f"opens {path!r} as root (only /var/log/{name}/ files are allowed)"
        if kind in ("socket", "fd", "tty") or v.startswith("/"):
            return f"{v!r} hands the service a descriptor PID 1 opened"
    elif key == "PIDFile":
        if not v.startswith(f"/run/{name}/") or ".." in v.split("/"):
            return f"{v!r} is read as root (only /run/{name}/ is allowed)"
    elif key in ("Nice", "OOMScoreAdjust"):
        if v.startswith("-"):
            return "a negative value is a privilege (it outranks other processes)"
    elif key in ("Alias", "Also"):
        return "it makes the unit answer to, or enable, other units"
    return None


#: keys whose value is a folder systemd creates *and chowns recursively to the
#: service user* under /var/lib, /run, /var/log, /var/cache or /etc
#: (systemd.exec(5)): ``StateDirectory=rpm`` would hand /var/lib/rpm to the
#: service. Only the service's own folders are allowed, with or without the opt-in.
OWN_DIRECTORY_KEYS = frozenset({"StateDirectory", "RuntimeDirectory", "LogsDirectory", "CacheDirectory",
                                "ConfigurationDirectory"})
#: unit keys that act on *other* units or on the machine: stop them
#: (Conflicts=), pull the service into them (RequiredBy=, UpheldBy=), start
#: them on an event (OnFailure=reboot.target) or reboot/power off the machine
#: (FailureAction=reboot-force). A reviewer must see the opt-in.
SYSTEM_ACTION_KEYS = frozenset({
    "Conflicts", "RequiredBy", "UpheldBy", "Upholds", "OnFailure", "OnSuccess", "PropagatesReloadTo",
    "PropagatesStopTo", "ReloadPropagatedFrom", "StopPropagatedFrom", "JoinsNamespaceOf", "FailureAction",
    "SuccessAction", "StartLimitAction", "JobTimeoutAction", "JobRunningTimeoutAction", "RebootArgument",
    "OnFailureJobMode", "Slice", "Delegate", "SurviveFinalKillSignal",
})
#: dependency keys a service may set towards ordinary units, but not towards
#: the units that shut down, reboot or isolate the machine, or that open a
#: root shell on a console (debug-shell.service, a getty)
DEPENDENCY_KEYS = frozenset({"Wants", "Requires", "Requisite", "BindsTo", "PartOf", "WantedBy", "Before",
                             "After", "Upholds"})
MACHINE_UNITS = re.compile(
    r"^(systemd-)?(poweroff|reboot|halt|kexec|emergency|rescue|shutdown|exit|soft-reboot|ctrl-alt-del|final|"
    r"umount|sleep|suspend|hibernate|hybrid-sleep|suspend-then-hibernate|factory-reset|initrd[\w.-]*|"
    r"system-update[\w-]*|debug-shell|[\w-]*getty[\w@.-]*|rescue|emergency)\.(target|service)$")


def _own_directory_problem(value: str, name: str) -> str | None:
    """Why a ``*Directory=`` value names a folder that is not the service's own, or None.

    Each space-separated entry (and the link name after a ``:``) must be
    ``<name>``, ``<name>-<more>`` or ``<name>/<sub>`` with plain components;
    an empty value (systemd's "reset the list") is harmless.
    """
    own = re.compile(rf"^{re.escape(name)}([-_.][A-Za-z0-9._-]*)?$")
    for entry in value.split():
        for path in entry.split(":"):  # 'state:link' (systemd 254: a symlink to the folder)
            parts = path.split("/")
            if not path or any(p in ("", ".", "..") or not SCRIPT_NAME.match(p) for p in parts) \
                    or not own.match(parts[0]):
                return (f"{path!r} is not the service's own folder (systemd would create it and hand it, "
                        "recursively, to the service user)")
    return None


def check_unit_override(cfg: Path, label_ov: str, service: str, key: str, value: str, allow: bool,
                        name: str = "") -> None:
    where = f"{label_ov} unit_overrides: {service}.{key}"
    if not re.match(r"^[A-Za-z][A-Za-z0-9]*$", key):
        raise bad(cfg, f"{where}: {key!r} is not a systemd key name", "check the spelling (systemd.service(5))")
    problem = _printable(value)
    if problem:
        raise bad(cfg, f"{where} = {value[:40]!r} {problem}",
                  "write the value on one line (a newline would add unit keys)")
    if value.rstrip().endswith("\\"):
        raise bad(cfg, f"{where} = {value!r} ends in a backslash", "remove it: it would join the next unit line")
    if key in OWN_DIRECTORY_KEYS:
        problem = _own_directory_problem(value, name or service)
        if problem:
            own = name or service
            raise bad(cfg, f"{where} = {value!r}: {problem}",
                      f"use {own}, {own}-<suffix> or {own}/<sub-folder> (space-separated entries)")
    if allow:
        return
    if key in SYSTEM_ACTION_KEYS:
        raise bad(cfg, f"{where} = {value!r} acts on other units or on the machine",
                  f"remove it, or set {label_ov} allow_privileged = true if the service really needs it")
    if key in DEPENDENCY_KEYS:
        for unit in value.split():
            if MACHINE_UNITS.match(unit):
                raise bad(cfg, f"{where} = {value!r}: {unit} shuts down, reboots or isolates the machine "
                          "or opens a console shell",
                          f"remove it, or set {label_ov} allow_privileged = true if the service really needs it")
    if key in PRIVILEGE_KEYS or key.startswith(SANDBOX_PREFIXES):
        raise bad(cfg, f"{where} changes the service's privileges or sandbox",
                  f"remove it, or set {label_ov} allow_privileged = true if the service really needs it")
    if key in ROOT_APPLIED:
        problem = _root_applied_problem(key, value, name)
        if problem:
            raise bad(cfg, f"{where} = {value!r}: {problem}",
                      f"remove it, or set {label_ov} allow_privileged = true if the service really needs it")
    if key in EXEC_KEYS:
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise bad(cfg, f"{where} = {value!r} cannot be split into arguments ({exc})",
                      "balance the quotes") from None
        if not words or EXEC_PREFIX.match(words[0]) or not words[0].startswith("/"):
            raise bad(cfg, f"{where} = {value!r} does not start with an absolute program path",
                      "write /path/to/program args (the '+', '!', '-', '@' and ':' prefixes are refused: "
                      f"'+' and '!' run it as root; set {label_ov} allow_privileged = true to allow them)")


def pyproject_types(data: dict[str, Any], path: Path) -> None:
    """pyproject.toml values have the types PEP 621 says; a wrong type is one line, not a traceback."""
    expect: dict[str, tuple[type, ...]] = {
        "name": (str,), "version": (str,), "description": (str,), "readme": (str, dict),
        "license": (str, dict), "authors": (list,), "maintainers": (list,), "urls": (dict,),
        "scripts": (dict,), "entry-points": (dict,), "dependencies": (list,), "dynamic": (list,),
        "requires-python": (str,), "keywords": (list,), "classifiers": (list,),
        "optional-dependencies": (dict,), "gui-scripts": (dict,), "license-files": (list,),
    }
    proj = data.get("project")
    if proj is None:
        return
    if not isinstance(proj, dict):
        raise bad(path, "[project] is not a table", "write [project] with name = \"...\"")
    for key, types in expect.items():
        if key in proj and not isinstance(proj[key], types):
            names: dict[type, str] = {str: "a string", dict: "a table", list: "a list"}
            want = " or ".join(names[t] for t in types)
            raise bad(path, f"[project] {key} is {type(proj[key]).__name__}, not {want}", f"write {key} as {want}")
    for key in ("dependencies", "dynamic", "keywords", "classifiers", "license-files"):
        _all_strings(proj.get(key, []), path, f"[project] {key}")
    _file_tables(proj, path)
    for i, person in enumerate(proj.get("authors", []) or []):
        if not isinstance(person, dict) or not all(isinstance(v, str) for v in person.values()):
            raise bad(path, f"[project] authors[{i}] is not a table of strings",
                      "write authors = [{name = \"...\", email = \"...\"}]")
    for table_key in ("urls", "scripts"):
        _all_strings((proj.get(table_key) or {}).values(), path, f"[project] {table_key}")
    for group, table in (proj.get("entry-points") or {}).items():
        if not isinstance(table, dict):
            raise bad(path, f"[project.entry-points.{group}] is not a table", "write name = \"module:function\"")
        _all_strings(table.values(), path, f"[project.entry-points.{group}]")
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise bad(path, "[tool] is not a table", "fix the [tool] section")
    for sub in ("setuptools", "phoenix"):
        if sub in tool and not isinstance(tool[sub], dict):
            raise bad(path, f"[tool.{sub}] is not a table", f"write [tool.{sub}] as a table")
    setuptools_cfg = tool.get("setuptools", {}) or {}
    for key, types in (("packages", (list, dict)), ("package-dir", (dict,)), ("data-files", (dict,))):
        if key in setuptools_cfg and not isinstance(setuptools_cfg[key], types):
            raise bad(path, f"[tool.setuptools] {key} has the wrong type ({type(setuptools_cfg[key]).__name__})",
                      "see the setuptools documentation for its form")
    if isinstance(setuptools_cfg.get("packages"), list):
        _all_strings(setuptools_cfg["packages"], path, "[tool.setuptools] packages")
    for pkg, folder in (setuptools_cfg.get("package-dir") or {}).items():
        if not isinstance(folder, str):
            raise bad(path, f"[tool.setuptools] package-dir: {pkg!r} = {folder!r} is {type(folder).__name__}, "
                      "not a string", f"write \"{pkg}\" = \"src\" (a folder relative to the project)")
        inside(_real_root(path.parent), folder or ".", path, f"[tool.setuptools] package-dir {pkg!r}",
               want_file=False)
    phoenix = tool.get("phoenix", {}) or {}
    if "rpm" in phoenix and not isinstance(phoenix["rpm"], dict):
        raise bad(path, "[tool.phoenix.rpm] is not a table", "write [tool.phoenix.rpm] with key = value lines")
    for key, value in (phoenix.get("rpm") or {}).items():
        if key in ("user", "group", "install_mode", "venv_dir", "release") and not isinstance(value, str):
            raise bad(path, f"[tool.phoenix.rpm] {key} = {value!r} is not a string", f"write {key} = \"...\"")
        if key in ("services", "tools", "requirements"):
            if not isinstance(value, list):
                raise bad(path, f"[tool.phoenix.rpm] {key} is not a list", f"write {key} = [\"name\", ...]")
            _all_strings(value, path, f"[tool.phoenix.rpm] {key}")
        if key in ("allow_privileged", "allow_system_paths", "logrotate") and not isinstance(value, bool):
            raise bad(path, f"[tool.phoenix.rpm] {key} = {value!r} is not a boolean", "write true or false")
        if key == "extra_files" and isinstance(value, dict):
            _all_strings(value.values(), path, "[tool.phoenix.rpm] extra_files")
        if key == "unit_overrides" and isinstance(value, dict):
            for service, keys in value.items():
                if isinstance(keys, dict):
                    for k, v in keys.items():
                        if not isinstance(v, (str, int)) or isinstance(v, bool):
                            raise bad(path, f"[tool.phoenix.rpm.unit_overrides.{service}] {k} = {v!r} "
                                      "is not a string or a number", f"write {k} = \"value\"")


#: the keys a PEP 621 ``readme``/``license`` table may hold, all strings
_FILE_TABLE_KEYS = {"readme": ("file", "text", "content-type", "charset"), "license": ("file", "text")}


def _file_tables(proj: dict[str, Any], path: Path) -> None:
    """``readme``/``license`` tables and ``license-files``: strings, and files inside the project.

    A wrong type used to reach the spec as ``License: 3`` or be dropped
    silently; a file outside the project (``{file = "/etc/shadow"}``) must be
    refused, not ignored, so a reviewer learns the project tried.
    """
    root = _real_root(path.parent)
    for key, allowed in _FILE_TABLE_KEYS.items():
        value = proj.get(key)
        if isinstance(value, str) and key == "readme":
            inside(root, value, path, "[project] readme")
        if not isinstance(value, dict):
            continue
        for sub, item in value.items():
            if sub not in allowed:
                raise bad(path, f"[project] {key}: unknown key {sub!r}",
                          f"use {' or '.join(allowed[:2])} (PEP 621)")
            if not isinstance(item, str):
                raise bad(path, f"[project] {key}.{sub} = {item!r} is {type(item).__name__}, not a string",
                          f"write {key} = {{{sub} = \"...\"}}")
        if "file" in value and "text" in value:
            raise bad(path, f"[project] {key} has both file and text", "keep one of them (PEP 621)")
        if "file" in value:
            inside(root, value["file"], path, f"[project] {key}.file")
    for pattern in proj.get("license-files") or []:
        if os.path.isabs(pattern) or ".." in pattern.split("/") or "\\" in pattern:
            raise bad(path, f"[project] license-files: {pattern!r} leaves the project folder",
                      "use a pattern relative to the project, without '..' (PEP 639)")
        for match in sorted(glob.glob(pattern, root_dir=root, recursive=True)):
            inside(root, match, path, "[project] license-files")


def _all_strings(values: Iterable[Any], path: Path, label: str) -> None:
    for value in values:
        if not isinstance(value, str):
            raise bad(path, f"{label}: {value!r} is {type(value).__name__}, not a string", "quote it")


#: a uWSGI ``http-socket`` host: an IPv4/IPv6 address in brackets or a host name, or empty (all addresses)
BIND_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?)?$")
#: the first port an unprivileged service user may listen on (no CAP_NET_BIND_SERVICE)
FIRST_UNPRIVILEGED_PORT = 1024


def check_services(project: Project, services: Iterable[Any], app_names: Iterable[str]) -> None:
    """Every planned unit's name, and every uWSGI address, wherever it came from.

    Unit names come from entry points (checked above) but also from file
    names (``<pkg>/wsgi/<stem>.py``, ``*.wsgi``): a unit name reaches the
    spec's ``%systemd_post`` (a root scriptlet) and a file name in
    ``systemd/``. An address reaches the uWSGI ini, which expands
    ``$(ENV)``, ``@(file)``, ``@(exec://cmd)`` and ``%(key)`` in values; it
    comes from ``wsgi_bind`` or from the project's files (a paste ini's
    ``port``, an option's default), so it is checked here, after the choice
    (docs/packaging.md, "Hostile input and the trust boundary").
    """
    cfg = project.config_file
    ov = project.overrides
    label = _labels(cfg)["ov"]
    if " [" in ov.source:  # the file and table the overrides were read from (setup.cfg's, for a pyproject)
        where, _, table = ov.source.rpartition(" [")
        cfg, label = Path(where), f"[{table}"
    known = set(app_names)
    ports: dict[str, str] = {}
    for app in ov.wsgi_bind:
        if app not in known:
            raise bad(cfg, f"{label} wsgi_bind: {app!r} names no WSGI application of the project "
                      f"(they are: {', '.join(sorted(known)) or 'none'})",
                      "use the application's unit name, as tools/build-rpm --stage generate prints it")
    for service in services:
        name = str(service.name)
        if not SCRIPT_NAME.match(name) or ".." in name:
            raise bad(cfg, f"the unit name {name!r} (of {service.entry_point}) is not a plain unit name",
                      "rename the file or entry point it comes from (letters, digits, '.', '_', '-')")
        if system_unit(name) and not ov.allow_privileged:
            raise bad(cfg, f"the unit {name}.service (of {service.entry_point}) has the name of a system "
                      "service's unit: installing it would replace or shadow that one",
                      "rename the entry point (e.g. <project>-<name>), list it under tools, or set "
                      "allow_privileged = true if the package really is that service")
        bind = getattr(service, "bind", "") or ""
        if not bind and getattr(service, "uwsgi_ini", None) is None:
            continue
        source = service.bind_source or "?"
        fix = (f"set {label} wsgi_bind = {name} = 0.0.0.0:<port> with a port from {FIRST_UNPRIVILEGED_PORT} "
               "to 65535")
        host, sep, port = bind.rpartition(":")
        problem = _printable(bind)
        if problem:
            raise bad(cfg, f"{name}.service's address {bind[:60]!r} (from {source}) {problem}", fix)
        if not sep or not BIND_HOST.match(host):
            raise bad(cfg, f"{name}.service's address {bind[:60]!r} (from {source}) is not <host>:<port>",
                      fix + " (the host an IP address, [IPv6] or a host name)")
        if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
            raise bad(cfg, f"{name}.service's port {port[:20]!r} (from {source}) is not a TCP port (1-65535)", fix)
        if port in ports:
            raise bad(cfg, f"{ports[port]}.service and {name}.service would both listen on port {port} (from "
                      f"{source}); the second cannot start", fix.replace("<port>", "<another port>"))
        ports[port] = name
        if int(port) < FIRST_UNPRIVILEGED_PORT and not ov.allow_privileged:
            raise bad(cfg, f"{name}.service would listen on the privileged port {port} (from {source}), "
                      f"which its unprivileged user cannot bind",
                      fix + ", or set allow_privileged = true and grant CAP_NET_BIND_SERVICE "
                      "in unit_overrides (AmbientCapabilities)")


def check_found_files(project: Project, rels: Iterable[str]) -> None:
    """Files the toolkit found by itself (a paste ini under etc/, a config generator's input) stay inside.

    They are shipped (``%config``) or read by the build (``--config-file``
    from the sdist) like a ``data_files`` source, so the same rule holds: a
    symlink out of the project would ship the build host's file.
    """
    root = _real_root(project.project_dir)
    for rel in rels:
        inside(root, rel, project.project_dir / rel, "a file found under etc/ or tools/ (shipped, or read by the build)",
               want_file=True)
        base = rel.rsplit("/", 1)[-1]
        if not SCRIPT_NAME.match(base):
            raise bad(project.project_dir / rel, f"the file name {base!r} is not a plain file name (the spec and "
                      "the units name it as it is)", "rename it (letters, digits, '.', '_', '-')")
