"""Hostile and careless project files that must be refused (issue 11).

Each case edits the small valid project of test_pkg_bad_input.py the way an
attacker or a careless user would, then generates. Every case asserts: a
``UserError`` (exit status 2) of one line naming the file and the key (and
the line where there is one), with a "what to do" part, and a project tree
exactly as it was (same paths, same bytes: nothing written, nothing
half-written). The ``cli`` cases go through ``build-rpm --stage generate``
and also assert no traceback. Values that are odd but legitimate (spaces,
unicode, ``%`` in a description) are not refused: see test_hostile_values.py.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from pkgtools import build_rpm
from test_pkg_bad_input import PYPROJECT, both, cfg_append, cfg_replace, make_project, pyproject_only, write

from phoenix_rpm import generate
from phoenix_rpm.errors import UserError

Edit = Callable[[Path], None]


@dataclass
class Case:
    id: str
    edit: Edit
    file: str
    says: list[str]
    line: int | None = None
    cli: bool = False
    env: dict[str, str] = field(default_factory=dict)
    #: text the message must NOT hold (a line of a file outside the project)
    never: list[str] = field(default_factory=list)
    #: what runs: "generate" (--stage generate), "check" (--check) or "keep"
    #: (generate with keep_version, what a default build run does first)
    run: str = "generate"
    #: a folder next to the project (tmp_path/<name>) that must stay as it was
    outside: str | None = None


def symlink(rel: str, target: str) -> Edit:
    def edit(project: Path) -> None:
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    return edit


def outside_file(name: str = "outside.conf") -> Edit:
    """A file next to the project (inside tmp_path, outside the project folder)."""
    def edit(project: Path) -> None:
        (project.parent / name).write_text("secret\n")
    return edit


SECRET = "TOPSECRET-do-not-print==1"


def outside_secret(name: str = "outside.txt") -> Edit:
    """A file outside the project whose first line must never reach a message."""
    def edit(project: Path) -> None:
        (project.parent / name).write_text(f"{SECRET}\n")
    return edit


def raw_bytes(rel: str, data: bytes) -> Edit:
    def edit(project: Path) -> None:
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return edit


def bytes_name(folder: str, name: bytes) -> Edit:
    def edit(project: Path) -> None:
        (project / folder).mkdir(parents=True, exist_ok=True)
        with open(os.path.join(os.fsencode(project / folder), name), "wb") as handle:
            handle.write(b"x\n")
    return edit


def meta(key_line: str, new: str) -> Edit:
    return cfg_replace(key_line, new)


def rpm_section(text: str) -> Edit:
    return cfg_append("\n[phoenix:rpm]\n" + text)


def override(line: str) -> Edit:
    return rpm_section(f"unit_overrides =\n    {line}\n")


def py(extra: str = "", replace: tuple[str, str] | None = None) -> Edit:
    text = PYPROJECT if replace is None else PYPROJECT.replace(*replace)
    return both(pyproject_only(text + extra), write("demo/__init__.py", ""))


DATA_LINE = "        etc/demo/demo.conf"


def data(extra_lines: str) -> Edit:
    return cfg_replace(DATA_LINE, DATA_LINE + "\n" + extra_lines)


NEWLINE_META = [
    # a continuation line in setup.cfg is a newline in the value: it would
    # become a new spec tag (Requires:, Epoch:...) or a new unit key
    ("summary", "summary = Demo service", "summary = Demo service\n    Requires: evil"),
    ("summary-section", "summary = Demo service", "summary = Demo\n    [Service]\n    User=root"),
    ("license", "license = MIT", "license = MIT\n    Obsoletes: glibc"),
    ("author", "author = Demo", "author = Demo\n    Epoch: 99"),
    ("author_email", "author_email = demo@example.org", "author_email = demo@example.org\n    Provides: kernel"),
]

CASES: list[Case] = [
    *[Case(f"newline-in-{key}", meta(old, new), "setup.cfg", [f"[metadata] {key.split('-')[0]}", "newline"])
      for key, old, new in NEWLINE_META],
    Case("newline-in-home-page", cfg_replace("license = MIT", "license = MIT\nhome_page = https://x\n    Requires: evil"),
         "setup.cfg", ["[metadata] home_page", "newline"], cli=True),
    Case("control-char-in-summary", meta("summary = Demo service", "summary = Demo\x1b[2Jservice"), "setup.cfg",
         ["[metadata] summary", "control character"]),
    Case("non-utf8-summary", raw_bytes("setup.cfg", b"[metadata]\nname = demo\nsummary = caf\xe9\n"
                                       b"[files]\npackages = demo\n"), "setup.cfg",
         ["[metadata] summary", "not valid UTF-8"]),
    Case("description-control-char", meta("summary = Demo service", "summary = Demo\ndescription = a\x07b"),
         "setup.cfg", ["[metadata] description", "control character"]),
    # pyproject.toml: strings may hold \n directly
    Case("py-newline-description", py(replace=('description = "Demo"', 'description = "Demo\\nRequires: evil"')),
         "pyproject.toml", ["[project] description", "newline"], cli=True),
    Case("py-newline-license", py(replace=('description = "Demo"', 'description = "Demo"\nlicense = {text = "MIT\\n%post"}')),
         "pyproject.toml", ["[project] license", "newline"]),
    Case("py-newline-url", py(replace=('description = "Demo"',
                                       'description = "Demo"\nurls = {Homepage = "https://x\\nEpoch: 1"}')),
         "pyproject.toml", ["[project.urls]", "newline"]),
    Case("py-newline-author", py(replace=('description = "Demo"',
                                          'description = "Demo"\nauthors = [{name = "A\\nProvides: x"}]')),
         "pyproject.toml", ["[project] authors name", "newline"]),
    Case("py-cr-in-email", py(replace=('description = "Demo"',
                                       'description = "Demo"\nauthors = [{name = "A", email = "a@b\\rc"}]')),
         "pyproject.toml", ["[project] authors email", "newline"]),
]

# --- entry point and script names ------------------------------------------
BAD_SCRIPT_NAMES = ["../../etc/x", "a b", "a$b", "$(touch x)", "a;b", "-rf", ".hidden", "a/b", "`id`",
                    "x%(touch m)", "a..b", "ü-api"]
CASES += [
    Case(f"py-entry-point-name-{i}", py(replace=('demo-api = "demo.api:main"', f'"{name}" = "demo.api:main"')),
         "pyproject.toml", ["[project.scripts]", "not a plain script name"], cli=(i == 0))
    for i, name in enumerate(BAD_SCRIPT_NAMES)
]
CASES += [
    Case("cfg-entry-point-dollar", cfg_replace("demo-manage = demo.manage:main", "demo$x = demo.manage:main"),
         "setup.cfg", ["[entry_points] console_scripts", "demo$x"], line=17),
    Case("cfg-entry-point-slash", cfg_replace("demo-manage = demo.manage:main", "../x = demo.manage:main"),
         "setup.cfg", ["[entry_points] console_scripts", "../x"], line=17),
    Case("cfg-entry-point-dotdot", cfg_replace("demo-manage = demo.manage:main", "a..b = demo.manage:main"),
         "setup.cfg", ["[entry_points] console_scripts", "'a..b'", "not a plain script name"], line=17),
    Case("script-name-with-dollar", both(write("bin/a$(id)", "#!/bin/sh\n"), cfg_replace(
        "packages = demo", "packages = demo\nscripts = bin/a$(id)")), "setup.cfg", ["[files] scripts", "a$(id)"]),
    Case("script-outside-project", both(outside_file("tool"), cfg_replace("packages = demo",
                                                                            "packages = demo\nscripts = ../tool")),
         "setup.cfg", ["[files] scripts", "'../tool'", "leaves the project folder"]),
    Case("script-symlink-outside", both(symlink("bin/tool", "/etc/passwd"),
                                        cfg_replace("packages = demo", "packages = demo\nscripts = bin/tool")),
         "setup.cfg", ["[files] scripts", "'bin/tool'", "leaves the project folder through a symlink"]),
    Case("entry-point-module-symlink-out", both(lambda p: (p / "demo" / "api.py").unlink(),
                                                symlink("demo/api.py", "/etc/shadow")),
         "setup.cfg", ["[files] packages: 'demo/api.py' is a symlink to '/etc/shadow'", "outside the project"]),
    Case("package-name-injection", cfg_replace("packages = demo", "packages = demo x;rm"), "setup.cfg",
         ["[files] packages", "'x;rm'", "not a Python package name"]),
    Case("package-name-path", cfg_replace("packages = demo", "packages = ../demo"), "setup.cfg",
         ["[files] packages", "'../demo'"]),
]

# --- data_files sources: must stay inside the project ----------------------
CASES += [
    Case("data-absolute-source", data("        /etc/passwd"), "setup.cfg",
         ["data_files", "'/etc/passwd'", "absolute path"], line=13, cli=True),
    Case("data-dotdot-source", both(outside_file(), data("        ../outside.conf")), "setup.cfg",
         ["data_files", "'../outside.conf'", "leaves the project folder with '..'"], line=13),
    Case("data-symlink-to-shadow", both(symlink("etc/demo/shadow.conf", "/etc/shadow"),
                                        data("        etc/demo/shadow.conf")), "setup.cfg",
         ["data_files", "'etc/demo/shadow.conf'", "through a symlink", "/etc/shadow"], line=13),
    Case("data-symlink-to-passwd", both(symlink("etc/demo/p.conf", "/etc/passwd"), data("        etc/demo/p.conf")),
         "setup.cfg", ["'etc/demo/p.conf'", "leaves the project folder"], line=13),
    Case("data-symlink-relative-out", both(outside_file(), symlink("etc/demo/o.conf", "../../../outside.conf"),
                                           data("        etc/demo/o.conf")),
         "setup.cfg", ["'etc/demo/o.conf'", "leaves the project folder"], line=13),
    Case("data-glob-of-absolute-folder", data("    share/demo = /etc/*"), "setup.cfg",
         ["data_files", "'/etc/'", "absolute path"], line=13),
    Case("data-glob-of-parent-folder", data("    share/demo = ../*"), "setup.cfg",
         ["data_files", "'../'", "leaves the project folder"], line=13),
    Case("data-glob-symlinked-folder", both(symlink("linked", "/etc/ssh"), data("    share/demo = linked/*")),
         "setup.cfg", ["'linked/'", "through a symlink"], line=13),
    Case("data-glob-holds-symlink-out", both(write("tree/a.txt", "a\n"), symlink("tree/b.txt", "/etc/shadow"),
                                             data("    share/demo = tree/*")),
         "setup.cfg", ["'tree/b.txt'", "through a symlink"], line=13),
    Case("data-non-utf8-file-name", both(bytes_name("tree", b"caf\xe9.txt"), data("    share/demo = tree/*")),
         "setup.cfg", ["data_files", "not valid UTF-8"], line=13),
    Case("data-newline-file-name", both(bytes_name("tree", b"a\nb.txt"), data("    share/demo = tree/*")),
         "setup.cfg", ["data_files", "control character"], line=13),
    Case("data-glob-char-file-name", both(bytes_name("tree", b"c[1].txt"), data("    share/demo = tree/*")),
         "setup.cfg", ["data_files", "'tree/c[1].txt'", "glob"], line=13),
    Case("data-backslash-file-name", both(bytes_name("tree", b"a\\b.txt"), data("    share/demo = tree/*")),
         "setup.cfg", ["data_files", "backslash"], line=13),
    Case("data-glob-holds-a-fifo", both(write("tree/a.txt", "a\n"), lambda p: os.mkfifo(p / "tree" / "pipe"),
                                        data("    share/demo = tree/*")),
         "setup.cfg", ["'tree/pipe' is not a regular file"], line=13),
    Case("data-glob-dangling-symlink", both(write("tree/a.txt", "a\n"), symlink("tree/gone", "missing.txt"),
                                            data("    share/demo = tree/*")),
         "setup.cfg", ["'tree/gone' is not a regular file"], line=13),
    Case("data-glob-symlink-loop", both(write("tree/a.txt", "a\n"), symlink("tree/loop", "loop"),
                                        data("    share/demo = tree/*")),
         "setup.cfg", ["'tree/loop'"], line=13),
    Case("data-plain-fifo", both(lambda p: os.mkfifo(p / "etc" / "demo" / "pipe.conf"), data("        etc/demo/pipe.conf")),
         "setup.cfg", ["'etc/demo/pipe.conf' is not a regular file"], line=13),
    Case("py-data-glob-absolute", py('\n[tool.setuptools.data-files]\n"share/demo" = ["/etc/*.conf"]\n'),
         "pyproject.toml", ["[tool.setuptools.data-files]", "'/etc/*.conf'", "leaves the project folder"]),
    Case("py-data-glob-parent", py('\n[tool.setuptools.data-files]\n"share/demo" = ["../*"]\n'),
         "pyproject.toml", ["[tool.setuptools.data-files]", "'../*'", "leaves the project folder"]),
    Case("py-data-symlink", both(py('\n[tool.setuptools.data-files]\n"share/demo" = ["etc/demo/*.conf"]\n'),
                                 symlink("etc/demo/z.conf", "/etc/shadow")),
         "pyproject.toml", ["'etc/demo/z.conf'", "through a symlink"]),
]

# --- data_files targets: no system folders ----------------------------------
for i, target in enumerate(["etc/sudoers.d", "etc/cron.d", "etc/profile.d", "etc/systemd/system", "etc/pam.d",
                            "etc/ld.so.conf.d", "etc/logrotate.d", "etc/ssh", "etc/rc.d/init.d", "etc/security"]):
    CASES.append(Case(f"data-target-{target.replace('/', '-')}", data(f"    {target} = etc/demo/demo.conf"),
                      "setup.cfg", ["data_files", f"'{target}/demo.conf'", "system folder",
                                    "allow_system_paths = true"], cli=(i == 0)))
CASES += [
    Case("data-target-system-mode-unitdir", both(rpm_section("install_mode = system\n"),
                                                 data("    lib/systemd/system = etc/demo/demo.conf")),
         "setup.cfg", ["data_files", "/usr/lib/systemd/", "system folder"]),
    Case("data-target-system-mode-sbin", both(rpm_section("install_mode = system\n"),
                                              data("    sbin = etc/demo/demo.conf")),
         "setup.cfg", ["data_files", "/usr/sbin/"]),
]

# --- extra_files ---------------------------------------------------------------
EXTRA = "extra_files =\n    {}\n"
for name, line, says in [
    ("sudoers", "/etc/sudoers.d/demo = etc/demo/demo.conf", ["'/etc/sudoers.d/demo'", "system folder"]),
    ("cron", "/etc/cron.d/demo = etc/demo/demo.conf", ["'/etc/cron.d/demo'"]),
    ("unit", "/usr/lib/systemd/system/x.service = etc/demo/demo.conf", ["/usr/lib/systemd/"]),
    ("ssh-keys", "/root/.ssh/authorized_keys = etc/demo/demo.conf", ["/root/"]),
    ("bin", "/bin/sh = etc/demo/demo.conf", ["/bin/"]),
    ("dotdot-target", "/etc/demo/../shadow = etc/demo/demo.conf", ["not a normal path", "'/etc/shadow'"]),
    ("double-slash", "/etc/demo//x.conf = etc/demo/demo.conf", ["not a normal path"]),
    ("absolute-source", "/etc/demo/x.conf = /etc/shadow", ["'/etc/shadow'", "absolute path"]),
]:
    CASES.append(Case(f"extra-files-{name}", rpm_section(EXTRA.format(line)), "setup.cfg",
                      ["[phoenix:rpm] extra_files", *says]))
CASES += [
    Case("extra-files-dotdot-source", both(outside_file(), rpm_section(EXTRA.format("/etc/demo/x.conf = ../outside.conf"))),
         "setup.cfg", ["extra_files", "'../outside.conf'", "leaves the project folder"]),
    Case("extra-files-symlink-source", both(symlink("policy.yaml", "/etc/shadow"),
                                            rpm_section(EXTRA.format("/etc/demo/policy.yaml = policy.yaml"))),
         "setup.cfg", ["extra_files", "'policy.yaml'", "through a symlink"]),
    Case("description-file-symlink", both(symlink("README.rst", "/etc/passwd"),
                                          cfg_replace("summary = Demo service",
                                                      "summary = Demo service\ndescription_file = README.rst")),
         "setup.cfg", ["description_file", "'README.rst'", "through a symlink"]),
    Case("description-file-dotdot", both(outside_file("README"), cfg_replace(
        "summary = Demo service", "summary = Demo service\ndescription_file = ../README")),
         "setup.cfg", ["description_file", "'../README'", "leaves the project folder"]),
]

# --- venv_dir -----------------------------------------------------------------
for i, venv in enumerate(["/usr/lib/demo;rm -rf /", "/usr/lib/$(id)", "/etc", "/usr/bin", "/usr/lib/demo/../../etc",
                          "/opt/de mo", "/usr/lib/demo%{x}", "/usr/lib/systemd", "/home/demo"]):
    CASES.append(Case(f"venv-dir-{i}", rpm_section(f"venv_dir = {venv}\n"), "setup.cfg",
                      ["[phoenix:rpm] venv_dir"]))

# --- accounts -----------------------------------------------------------------
for group in ["shadow", "wheel", "disk", "adm", "sudo", "docker", "kmem", "systemd-journal"]:
    CASES.append(Case(f"privileged-group-{group}", rpm_section(f"group = {group}\n"), "setup.cfg",
                      [f"[phoenix:rpm] group = {group}", "privileged", "allow_privileged"]))
CASES += [
    Case("privileged-user-daemon", rpm_section("user = daemon\n"), "setup.cfg", ["[phoenix:rpm] user = daemon"]),
    Case("user-injection", rpm_section("user = demo;id\n"), "setup.cfg", ["[phoenix:rpm] user", "demo;id"]),
    Case("user-newline", rpm_section("user = demo\n    root\n"), "setup.cfg", ["[phoenix:rpm] user", "newline"]),
    Case("group-dollar", rpm_section("group = $(id)\n"), "setup.cfg", ["[phoenix:rpm] group", "$(id)"]),
]

# --- unit overrides -----------------------------------------------------------
PRIVILEGED_OVERRIDES = [
    "User = root", "Group = root", "DynamicUser = no", "NoNewPrivileges = no", "ProtectSystem = no",
    "ProtectHome = no", "AmbientCapabilities = CAP_SYS_ADMIN", "CapabilityBoundingSet = CAP_SYS_ADMIN",
    "SupplementaryGroups = shadow", "PrivateDevices = no", "SystemCallFilter = @mount", "ReadWritePaths = /",
    "BindPaths = /etc", "RestrictSUIDSGID = no", "PrivateUsers = no",
]
for i, line in enumerate(PRIVILEGED_OVERRIDES):
    key = line.split(" = ")[0]
    CASES.append(Case(f"override-{key}", override(f"demo-api.{line}"), "setup.cfg",
                      [f"unit_overrides: demo-api.{key}", "privileges or sandbox", "allow_privileged"], cli=(i == 0)))
for i, (line, says) in enumerate([
    ("EnvironmentFile = /root/.aws/credentials", "reads '/root/.aws/credentials' as root"),
    ("EnvironmentFile = -/etc/shadow", "reads '/etc/shadow' as root"),
    ("EnvironmentFile = /etc/demo/../shadow", "as root"),
    ("StandardOutput = file:/etc/passwd", "opens '/etc/passwd' as root"),
    ("StandardError = append:/root/x", "opens '/root/x' as root"),
    ("StandardOutput = truncate:/var/log/demo/../../../etc/x", "as root"),
    ("PIDFile = /etc/shadow", "is read as root"),
    ("Nice = -20", "negative value"),
    ("OOMScoreAdjust = -1000", "negative value"),
    ("Alias = sshd.service", "other units"),
    ("Also = evil.service", "other units"),
]):
    key = line.split(" = ")[0]
    CASES.append(Case(f"override-root-applied-{i}-{key}", override(f"demo-api.{line}"), "setup.cfg",
                      [f"demo-api.{key}", says, "allow_privileged"]))
for i, name in enumerate(["rpm", "systemd", "dbus", "NetworkManager", "sudo", "mysql"]):
    CASES.append(Case(f"project-named-after-a-system-folder-{name}", cfg_replace("name = demo", f"name = {name}"),
                      "setup.cfg", [f"name {name!r} is the name of a system folder", f"/var/lib/{name}",
                                    "rename the project"], cli=(i == 0)))
CASES += [
    # without data_files into etc/<folder> (plan.py), the service user is named after the project
    Case("project-named-after-a-privileged-group",
         both(cfg_replace("name = demo", "name = kmem"),
              cfg_replace("data_files =\n    etc/demo =\n        etc/demo/demo.conf\n", "")), "setup.cfg",
         ["the user named after the project = kmem", "[phoenix:rpm] user = <an unprivileged name>"]),
]
CASES += [
    Case("override-exec-plus", override("demo-api.ExecStartPre = +/bin/sh -c id"), "setup.cfg",
         ["demo-api.ExecStartPre", "absolute program path", "'+'"]),
    Case("override-exec-bang", override("demo-api.ExecStartPre = !/bin/id"), "setup.cfg",
         ["demo-api.ExecStartPre", "absolute program path"]),
    Case("override-exec-relative", override("demo-api.ExecStart = sh -c id"), "setup.cfg",
         ["demo-api.ExecStart", "absolute program path"]),
    Case("override-exec-unbalanced", override("demo-api.ExecStart = /bin/x 'a"), "setup.cfg",
         ["demo-api.ExecStart", "cannot be split"]),
    Case("override-trailing-backslash", override("demo-api.Description = demo \\"), "setup.cfg",
         ["demo-api.Description", "backslash"]),
    Case("override-newline-continuation", override("demo-api.Description = a\n    [Service]"), "setup.cfg",
         ["unit_overrides", "<service>.<Key> = <value>"]),
    Case("py-override-newline", py('\n[tool.phoenix.rpm.unit_overrides.demo-api]\nDescription = "a\\nUser=root"\n'),
         "pyproject.toml", ["[tool.phoenix.rpm] unit_overrides: demo-api.Description", "newline"]),
    Case("py-override-user", py('\n[tool.phoenix.rpm.unit_overrides.demo-api]\nUser = "root"\n'),
         "pyproject.toml", ["demo-api.User", "privileges"]),
    Case("py-override-list-value", py('\n[tool.phoenix.rpm.unit_overrides.demo-api]\nLimitNOFILE = [1]\n'),
         "pyproject.toml", ["unit_overrides.demo-api", "LimitNOFILE", "not a string"]),
]

# --- pyproject.toml types -----------------------------------------------------
for name, replacement, says in [
    ("name-int", ('name = "demo"', "name = 1"), ["[project] name", "int"]),
    ("description-list", ('description = "Demo"', 'description = ["Demo"]'), ["[project] description", "list"]),
    ("scripts-string", ('[project.scripts]\ndemo-api = "demo.api:main"', 'scripts = "x"'), ["[project] scripts"]),
    ("authors-string", ('description = "Demo"', 'description = "Demo"\nauthors = "me"'), ["[project] authors"]),
    ("authors-int", ('description = "Demo"', 'description = "Demo"\nauthors = [1]'), ["[project] authors[0]"]),
    ("urls-list", ('description = "Demo"', 'description = "Demo"\nurls = ["https://x"]'), ["[project] urls"]),
    ("dependencies-string", ('description = "Demo"', 'description = "Demo"\ndependencies = "pbr"'),
     ["[project] dependencies"]),
    ("dependencies-int", ('description = "Demo"', 'description = "Demo"\ndependencies = [1]'),
     ["[project] dependencies", "not a string"]),
    ("dynamic-string", ('dynamic = ["version"]', 'dynamic = "version"'), ["[project] dynamic"]),
    ("entry-point-target-int", ('demo-api = "demo.api:main"', "demo-api = 1"), ["[project] scripts", "not a string"]),
]:
    CASES.append(Case(f"py-type-{name}", py(replace=replacement), "pyproject.toml", says))
for name, extra, says in [
    ("user-int", "\n[tool.phoenix.rpm]\nuser = 1\n", ["[tool.phoenix.rpm] user", "not a string"]),
    ("services-string", '\n[tool.phoenix.rpm]\nservices = "demo-api"\n', ["[tool.phoenix.rpm] services", "list"]),
    ("logrotate-string", '\n[tool.phoenix.rpm]\nlogrotate = "yes"\n', ["logrotate", "boolean"]),
    ("allow-privileged-string", '\n[tool.phoenix.rpm]\nallow_privileged = "yes"\n', ["allow_privileged", "boolean"]),
    ("data-files-list", '\n[tool.setuptools]\ndata-files = ["x"]\n', ["[tool.setuptools] data-files"]),
    ("tool-phoenix-string", '\n[tool]\nphoenix = "x"\n', ["[tool.phoenix]"]),
    ("project-string", None, ["[project] is not a table"]),
]:
    edit = py(extra) if extra is not None else both(pyproject_only('project = "x"\n'))
    CASES.append(Case(f"py-type-{name}", edit, "pyproject.toml", says))

# --- requirements files -------------------------------------------------------
CASES += [
    Case("requirements-non-utf8", raw_bytes("requirements.txt", b"pbr>=6\noslo.config\xff>=9\n"), "requirements.txt",
         ["0xff", "not UTF-8"], line=2, cli=True),
    Case("requirements-include-loop", both(write("requirements.txt", "pbr\n-r more.txt\n"),
                                           write("more.txt", "-r requirements.txt\n")),
         "more.txt", ["loop", "requirements.txt"], line=1),
    Case("requirements-self-include", write("requirements.txt", "-r requirements.txt\n"), "requirements.txt",
         ["loop"], line=1),
    Case("requirements-empty-include", write("requirements.txt", "pbr\n-r\n"), "requirements.txt",
         ["'-r' names no file"], line=2),
    Case("requirements-empty-long-include", write("requirements.txt", "--requirement\n"), "requirements.txt",
         ["names no file"], line=1),
    Case("requirements-direct-url-file", write("requirements.txt", "pbr\nfoo @ file:///etc/shadow\n"),
         "requirements.txt", ["direct URL requirement"], line=2),
    Case("requirements-direct-url-http", write("requirements.txt", "foo @ https://example.org/foo-1.0.tar.gz\n"),
         "requirements.txt", ["direct URL requirement"], line=1),
    Case("requirements-include-non-utf8", both(write("requirements.txt", "-r more.txt\n"),
                                               raw_bytes("more.txt", b"\xfe\xff\n")), "more.txt", ["not UTF-8"]),
]

# --- requirement files outside the project: never read, never quoted -------
OUT = "outside the project folder"
CASES += [
    Case("requirements-include-etc-shadow", write("requirements.txt", "pbr\n-r /etc/shadow\n"), "requirements.txt",
         ["'-r /etc/shadow'", "a path to /etc/shadow", OUT, "never read"], line=2, cli=True, never=["root:"]),
    Case("requirements-include-dotdot", both(outside_secret(), write("requirements.txt", "-r ../outside.txt\n")),
         "requirements.txt", ["'-r ../outside.txt'", OUT], line=1, never=[SECRET]),
    Case("requirements-include-long-form", both(outside_secret(),
                                                write("requirements.txt", "pbr\n--requirement=../outside.txt\n")),
         "requirements.txt", ["'-r ../outside.txt'", OUT], line=2, never=[SECRET]),
    Case("requirements-is-symlink-to-passwd", symlink("requirements.txt", "/etc/passwd"), "requirements.txt",
         ["is a symlink to /etc/passwd", OUT], cli=True, never=["root:"]),
    Case("requirements-is-symlink-out", both(outside_secret(), symlink("requirements.txt", "../outside.txt")),
         "requirements.txt", ["is a symlink to", OUT], never=[SECRET]),
    Case("requirements-include-symlink-out", both(outside_secret(), symlink("more.txt", "../outside.txt"),
                                                  write("requirements.txt", "pbr\n-r more.txt\n")),
         "requirements.txt", ["'-r more.txt' is a symlink to", OUT], line=2, never=[SECRET]),
    Case("requirements-nested-include-out", both(outside_secret(), write("requirements.txt", "-r reqs/base.txt\n"),
                                                 write("reqs/base.txt", "pbr\n-r ../../outside.txt\n")),
         "reqs/base.txt", ["'-r ../../outside.txt'", OUT], line=2, never=[SECRET]),
    Case("requirements-include-of-a-folder-link", both(symlink("linked", "/etc"),
                                                      write("requirements.txt", "-r linked/passwd\n")),
         "requirements.txt", ["'-r linked/passwd'", "/etc/passwd", OUT], line=1, never=["root:"]),
    Case("setup-cfg-is-symlink-to-passwd", both(lambda p: (p / "setup.cfg").unlink(), symlink("setup.cfg", "/etc/passwd")),
         "setup.cfg", ["setup.cfg is a symlink to /etc/passwd", OUT], cli=True, never=["root:"]),
    Case("requirements-constraint-outside", write("requirements.txt", "pbr\n-c /etc/shadow\n"), "requirements.txt",
         ["pip option '-c /etc/shadow'"], line=2),
    Case("py-dependencies-include-outside", py(replace=('description = "Demo"',
                                                        'description = "Demo"\ndependencies = ["-r /etc/passwd"]')),
         "pyproject.toml", ["[project] dependencies", "'-r /etc/passwd'", OUT], never=["root:"]),
]

# --- *Directory= overrides: only the service's own folders ---------------------
for i, (key, value) in enumerate([
    ("StateDirectory", "rpm"), ("RuntimeDirectory", "systemd"), ("LogsDirectory", "audit"),
    ("CacheDirectory", "dnf"), ("ConfigurationDirectory", "ssh"), ("StateDirectory", "demo rpm"),
    ("StateDirectory", "demo/../rpm"), ("StateDirectory", "/var/lib/rpm"), ("StateDirectory", "demo:rpm"),
    ("RuntimeDirectory", "."), ("LogsDirectory", "demox"), ("StateDirectory", "demo//x"),
]):
    CASES.append(Case(f"override-directory-{i}-{key}", override(f"demo-api.{key} = {value}"), "setup.cfg",
                      [f"demo-api.{key}", "not the service's own folder", "demo/<sub-folder>"], cli=(i == 0)))
CASES += [
    Case("override-directory-despite-opt-in", rpm_section("allow_privileged = true\nunit_overrides =\n"
                                                          "    demo-api.StateDirectory = rpm\n"),
         "setup.cfg", ["demo-api.StateDirectory", "'rpm' is not the service's own folder"]),
    Case("py-override-directory", py('\n[tool.phoenix.rpm.unit_overrides.demo-api]\nRuntimeDirectory = "dbus"\n'),
         "pyproject.toml", ["[tool.phoenix.rpm] unit_overrides: demo-api.RuntimeDirectory", "own folder"]),
]

# --- overrides acting on other units or on the machine: opt-in -------------------
for i, line in enumerate(["Conflicts = sshd.service", "RequiredBy = sshd.service", "Conflicts = demo-manage.service",
                          "RequiredBy = multi-user.target"]):
    key = line.split(" = ")[0]
    CASES.append(Case(f"override-system-action-{i}-{key}", override(f"demo-api.{line}"), "setup.cfg",
                      [f"demo-api.{key}", "acts on other units or on the machine", "allow_privileged"]))
for i, line in enumerate(["Wants = poweroff.target", "Requires = reboot.target", "BindsTo = emergency.target",
                          "WantedBy = shutdown.target", "Wants = debug-shell.service", "Requires = getty@tty9.service",
                          "After = network.target systemd-reboot.service", "PartOf = rescue.target"]):
    key = line.split(" = ")[0]
    CASES.append(Case(f"override-machine-unit-{i}-{key}", override(f"demo-api.{line}"), "setup.cfg",
                      [f"demo-api.{key}", "shuts down, reboots or isolates the machine", "allow_privileged"]))
for i, line in enumerate(["OnFailure = reboot.target", "FailureAction = reboot-force", "SuccessAction = poweroff",
                          "StartLimitAction = reboot", "Upholds = sshd.service"]):
    key = line.split(" = ")[0]
    CASES.append(Case(f"override-unknown-action-{i}-{key}", override(f"demo-api.{line}"), "setup.cfg",
                      [f"demo-api.{key}", "allow_privileged"]))

# --- install targets: no code-loading folder --------------------------------------
for i, (dest, says) in enumerate([
    ("/usr/lib/python3/dist-packages/zzz.pth", "a .pth file"),
    ("/usr/lib/python3.11/site-packages/zzz.pth", "a .pth file"),
    ("/usr/lib64/python3.12/site-packages/evil.py", "site-packages or dist-packages"),
    ("/usr/lib/python3.12/sitecustomize.py", "sitecustomize.py"),
    ("/usr/share/demo/zzz.pth", "a .pth file"),
    ("/usr/local/sbin/ls", "/usr/local/"),
    ("/usr/local/lib/python3.12/x.py", "/usr/local/"),
    ("/etc/xdg/autostart/x.desktop", "an autostart folder"),
    ("/usr/share/gnome/autostart/x.desktop", "an autostart folder"),
    ("/etc/profile.d/demo.sh", "/etc/profile.d"),
    ("/etc/ld.so.conf.d/demo.conf", "/etc/ld.so.conf.d"),
    ("/etc/cron.hourly/demo", "/etc/cron.hourly"),
    ("/usr/lib/systemd/system-generators/x", "/usr/lib/systemd/"),
    ("/usr/lib/udev/rules.d/99-x.rules", "/usr/lib/udev/"),
    ("/etc/bash_completion.d/demo", "/etc/bash_completion.d"),
    ("/usr/lib64/libnss_demo.so.2", "/usr/lib64/"),
    ("/etc/pip.conf", "/etc/pip.conf"),
    ("/etc/dhcp/dhclient-exit-hooks.d/x", "/etc/dhcp"),
]):
    CASES.append(Case(f"extra-files-code-loading-{i}", rpm_section(EXTRA.format(f"{dest} = etc/demo/demo.conf")),
                      "setup.cfg", ["[phoenix:rpm] extra_files", f"{dest!r}", says, "allow_system_paths"],
                      cli=(i == 0)))
CASES += [
    Case("data-target-system-mode-site-packages-pth",
         both(rpm_section("install_mode = system\n"), write("zzz.pth", "import os\n"),
              data("    lib/python3.12/site-packages = zzz.pth")),
         "setup.cfg", ["data_files", "/usr/lib/python3.12/site-packages/zzz.pth", "site-packages"], line=13),
    Case("data-target-pth-anywhere", both(write("zzz.pth", "import os\n"), data("    share/demo = zzz.pth")),
         "setup.cfg", ["data_files", "'share/demo/zzz.pth'", "a .pth file"], line=13),
    Case("data-target-bundled-site-packages", both(write("x.py", "\n"), data("    lib/python3.12/site-packages = x.py")),
         "setup.cfg", ["data_files", "site-packages"], line=13),
    Case("data-target-xdg-autostart", both(write("x.desktop", "[Desktop Entry]\n"),
                                           data("    etc/xdg/autostart = x.desktop")),
         "setup.cfg", ["data_files", "/etc/xdg"], line=13),
    Case("data-target-system-mode-local", both(rpm_section("install_mode = system\n"),
                                               data("    local/sbin = etc/demo/demo.conf")),
         "setup.cfg", ["data_files", "/usr/local/"], line=13),
    Case("py-data-target-pth", both(py('\n[tool.setuptools.data-files]\n"lib/python3.12/site-packages" = ["z.pth"]\n'),
                                    write("z.pth", "import os\n")),
         "pyproject.toml", ["data_files", "site-packages"]),
]

# --- pyproject.toml tables: types and files inside the project ---------------------
for name, replacement, says in [
    ("license-text-int", 'license = {text = 3}', ["[project] license.text = 3", "int, not a string"]),
    ("license-file-int", 'license = {file = 3}', ["[project] license.file = 3", "not a string"]),
    ("license-file-outside", 'license = {file = "/etc/shadow"}', ["[project] license.file", "'/etc/shadow'",
                                                                   "absolute path"]),
    ("license-file-dotdot", 'license = {file = "../../etc/passwd"}', ["[project] license.file", "leaves the project"]),
    ("license-unknown-key", 'license = {txt = "MIT"}', ["[project] license: unknown key 'txt'"]),
    ("license-both", 'license = {file = "LICENSE", text = "MIT"}', ["[project] license has both file and text"]),
    ("readme-file-int", 'readme = {file = 1}', ["[project] readme.file = 1", "not a string"]),
    ("readme-file-outside", 'readme = {file = "/etc/shadow"}', ["[project] readme.file", "'/etc/shadow'"]),
    ("readme-text-list", 'readme = {text = ["x"]}', ["[project] readme.text", "not a string"]),
    ("readme-string-outside", 'readme = "/etc/passwd"', ["[project] readme", "'/etc/passwd'", "absolute path"]),
    ("readme-string-dotdot", 'readme = "../../../etc/passwd"', ["[project] readme", "leaves the project"]),
    ("license-files-absolute", 'license-files = ["/etc/shadow"]', ["[project] license-files", "'/etc/shadow'"]),
    ("license-files-dotdot", 'license-files = ["../*"]', ["[project] license-files", "'../*'"]),
    ("license-files-int", 'license-files = [1]', ["[project] license-files", "not a string"]),
]:
    CASES.append(Case(f"py-table-{name}", py(replace=('description = "Demo"', f'description = "Demo"\n{replacement}')),
                      "pyproject.toml", says, cli=(name == "license-text-int")))
CASES += [
    Case("py-table-license-files-symlink-out", both(py(replace=('description = "Demo"',
                                                                'description = "Demo"\nlicense-files = ["LIC*"]')),
                                                    symlink("LICENSE.txt", "/etc/shadow")),
         "pyproject.toml", ["[project] license-files", "'LICENSE.txt'", "through a symlink"]),
    Case("py-table-readme-symlink-out", both(py(replace=('description = "Demo"',
                                                         'description = "Demo"\nreadme = "README.md"')),
                                             symlink("README.md", "/etc/passwd")),
         "pyproject.toml", ["[project] readme", "'README.md'", "through a symlink"]),
    Case("py-table-package-dir-int", py('\n[tool.setuptools]\npackage-dir = {"" = 1}\n'), "pyproject.toml",
         ["[tool.setuptools] package-dir: '' = 1 is int, not a string"]),
    Case("py-table-package-dir-outside", py('\n[tool.setuptools]\npackage-dir = {"" = "/usr/lib/python3"}\n'),
         "pyproject.toml", ["[tool.setuptools] package-dir ''", "absolute path"]),
    Case("py-table-package-dir-dotdot", py('\n[tool.setuptools]\npackage-dir = {"" = "../src"}\n'),
         "pyproject.toml", ["[tool.setuptools] package-dir ''", "leaves the project"]),
    # the message names the pyproject key, not setup.cfg's description_file
    Case("py-readme-fallback-symlink-named-right", both(py(), symlink("README.md", "/etc/passwd")),
         "pyproject.toml", ["[project] readme", "'README.md'", "through a symlink"]),
]

# --- package folders: no symlink out of the project ---------------------------------
CASES += [
    Case("package-symlink-to-shadow", symlink("demo/secret.py", "/etc/shadow"), "setup.cfg",
         ["[files] packages", "'demo/secret.py' is a symlink to '/etc/shadow'", "outside the project"], cli=True),
    Case("package-nested-symlink-out", both(outside_secret(), write("demo/sub/__init__.py", ""),
                                            symlink("demo/sub/data.txt", "../../../outside.txt")),
         "setup.cfg", ["'demo/sub/data.txt' is a symlink", "outside.txt"], never=[SECRET]),
    Case("package-folder-symlink-out", symlink("demo/etc", "/etc"), "setup.cfg", ["'demo/etc' is a symlink to '/etc'"]),
    Case("package-itself-symlink-out", both(lambda p: __import__("shutil").rmtree(p / "demo"), symlink("demo", "/usr/lib/python3")),
         "setup.cfg", ["'demo' is a symlink to '/usr/lib/python3'"]),
    Case("py-package-symlink-out", both(py(), symlink("demo/secret.py", "/etc/shadow")), "pyproject.toml",
         ["[tool.setuptools] packages", "'demo/secret.py' is a symlink"]),
]

# --- unreadable modules and configs: one line, not a traceback ------------------------
CASES += [
    Case("entry-point-module-nul-byte", raw_bytes("demo/api.py", b"x = 1\0\n"), "setup.cfg",
         ["[entry_points] console_scripts: demo-api", "demo/api.py"], line=16, cli=True),
    Case("shipped-config-not-utf8", raw_bytes("etc/demo/demo.conf", b"[DEFAULT]\n# caf\xe9\n"),
         "etc/demo/demo.conf", ["the shipped config is not UTF-8", "0xe9"], cli=True),
    Case("graceful-shutdown-huge", write("etc/demo/demo.conf", f"[DEFAULT]\ngraceful_shutdown_timeout = {10**20}\n"),
         "etc/demo/demo.conf", ["graceful_shutdown_timeout = 100000000000000000000", "more than 86400"],
         line=2, cli=True),
    Case("graceful-shutdown-thousands-of-digits", write("etc/demo/demo.conf",
                                                        "[DEFAULT]\ngraceful_shutdown_timeout = " + "9" * 5000 + "\n"),
         "etc/demo/demo.conf", ["graceful_shutdown_timeout", "more than 86400"], line=2),
    Case("graceful-shutdown-superscript", write("etc/demo/demo.conf", "[DEFAULT]\ngraceful_shutdown_timeout = \u00b2\n"),
         "etc/demo/demo.conf", ["graceful_shutdown_timeout", "not a whole number"], line=2),
    Case("graceful-shutdown-just-over", write("etc/demo/demo.conf", "[DEFAULT]\ngraceful_shutdown_timeout = 86401\n"),
         "etc/demo/demo.conf", ["more than 86400"], line=2),
]

# --- messages name the right key and line -------------------------------------
CASES += [
    Case("name-line-not-summary", cfg_replace("name = demo\nsummary = Demo service",
                                              "summary = the name of it\nname = de mo"),
         "setup.cfg", ["[metadata] name 'de mo'"], line=3),
    Case("override-key-line-not-comment", rpm_section("# servics: a typo below\nservics = demo-api\n"),
         "setup.cfg", ["[phoenix:rpm] unknown key 'servics'"], line=21),
]

# --- output folders in the way ------------------------------------------------
CASES += [
    Case("rpm-folder-is-a-file", write("rpm", "not a folder\n"), "rpm", ["is not a folder", "move the file away"],
         cli=True),
    Case("systemd-folder-is-a-file", write("systemd", "not a folder\n"), "systemd", ["is not a folder"]),
]

# --- project templates: sandboxed ---------------------------------------------
for name, text in [
    ("dunder-class", "{{ plan.__class__.__mro__ }}\n"),
    ("subclasses", "{{ ''.__class__.__base__.__subclasses__() }}\n"),
    ("mutate-plan", "{{ plan.services.append(1) }}\n"),
    ("globals", "{{ self.__init__.__globals__ }}\n"),
    ("undefined", "{{ nothing_here }}\n"),
    ("memory-bomb", "{{ 'x' * 100000 * 100000 }}\n"),
    ("cpu-bomb", "{{ 10 ** 10 ** 10 }}\n"),
    ("huge-range", "{% for i in range(10 ** 9) %}x{% endfor %}\n"),
]:
    CASES.append(Case(f"template-{name}", write("rpm/templates/spec.j2", text), "rpm/templates",
                      ["template failed to render"]))
CASES += [
    Case("template-symlink-out", both(symlink("rpm/templates/secret.txt", "/etc/passwd"),
                                      write("rpm/templates/spec.j2", '{% include "secret.txt" %}\n')),
         "rpm/templates", ["'secret.txt' is a symlink out of rpm/templates"]),
    Case("template-recursion", write("rpm/templates/spec.j2",
                                     "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}\n"),
         "rpm/templates", ["recursed too deeply"]),
    Case("template-symlink-itself", symlink("rpm/templates/spec.j2", "/etc/passwd"), "rpm/templates",
         ["'spec.j2' is a symlink out of rpm/templates"]),
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 100, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum(c.cli for c in CASES) >= 8


def _snapshot(project: Path) -> dict[str, str]:
    out = {}
    for path in sorted(project.rglob("*")):
        rel = str(path.relative_to(project))
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_refused(case, tmp_path, monkeypatch)


def assert_refused(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the case's edit and stage; assert the one-line refusal and an untouched tree."""
    project = make_project(tmp_path)
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    case.edit(project)
    before = _snapshot(project)
    outside = tmp_path / case.outside if case.outside else None
    outside_before = _snapshot(outside) if outside else None
    if case.cli:
        argv = ("--check",) if case.run == "check" else ("--stage", "generate")
        proc = build_rpm(*argv, project, env={"PBR_VERSION": "1.0.0", **case.env})
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.startswith("build-rpm: error:")]
        assert len(lines) == 1, proc.stderr
        message = lines[0]
        for text in case.never:
            assert text not in proc.stdout, f"a line of a file outside the project leaked: {proc.stdout[:300]}"
    else:
        with pytest.raises(UserError) as info:
            if case.run == "check":
                generate.check(project)
            else:
                generate.write(project, keep_version=case.run == "keep")
        assert info.value.exit_status == 2
        message = str(info.value)
    assert "\n" not in message, message
    assert case.file in message, message
    for text in case.says:
        assert text in message, message
    for text in case.never:
        assert text not in message, f"a line of a file outside the project leaked: {message}"
    if case.line is not None:
        assert f"{case.file}:{case.line}:" in message, message
    assert "; " in message, f"no 'what to do' part: {message}"
    assert _snapshot(project) == before, "refused input must leave the tree exactly as it was"
    if outside is not None:
        assert _snapshot(outside) == outside_before, "nothing may be written outside the project"


def test_opt_ins_allow_what_they_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """allow_privileged / allow_system_paths make the refusals above possible, visibly."""
    from pkgtools import read_unit

    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    project = make_project(tmp_path)
    rpm_section("allow_privileged = true\nallow_system_paths = true\ngroup = adm\n"
                "extra_files =\n    /etc/logrotate.d/demo-extra = etc/demo/demo.conf\n"
                "unit_overrides =\n    demo-api.AmbientCapabilities = CAP_NET_BIND_SERVICE\n")(project)
    generate.write(project)
    unit = read_unit(project / "systemd" / "demo-api.service")
    assert unit["Service"]["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert unit["Service"]["Group"] == ["adm"]
    assert "%{_sysconfdir}/logrotate.d/demo-extra" in (project / "rpm" / "demo.spec").read_text()


def test_write_failure_midway_leaves_the_tree_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All or nothing: a write that fails after some files were staged changes no file."""
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    project = make_project(tmp_path)
    generate.write(project)
    cfg_replace("summary = Demo service", "summary = Demo service, changed")(project)
    before = _snapshot(project)
    real_fdopen = os.fdopen
    calls = {"n": 0}

    def failing_fdopen(fd: int, *args: object, **kwargs: object):  # noqa: ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            os.close(fd)
            raise OSError(28, "No space left on device", str(project / "rpm"))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(generate.os, "fdopen", failing_fdopen)
    with pytest.raises(UserError) as info:
        generate.write(project)
    assert "No space left on device" in str(info.value) and info.value.exit_status == 2
    assert _snapshot(project) == before
    monkeypatch.setattr(generate.os, "fdopen", real_fdopen)
    generate.write(project)
    assert "changed" in (project / "systemd" / "demo-api.service").read_text()


def test_render_failure_writes_nothing_in_a_fresh_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec template fails after the units rendered: systemd/ must not appear."""
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    project = make_project(tmp_path)
    write("rpm/templates/spec.j2", "{{ plan.__class__ }}\n")(project)
    with pytest.raises(UserError):
        generate.write(project)
    assert not (project / "systemd").exists()
    assert sorted(p.name for p in (project / "rpm").iterdir()) == ["templates"]


def test_unprivileged_overrides_of_root_applied_keys_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own files and harmless values stay possible without the opt-in."""
    from pkgtools import read_unit

    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    project = make_project(tmp_path)
    rpm_section("unit_overrides =\n    demo-api.EnvironmentFile = -/etc/demo/demo.env\n"
                "    demo-api.StandardOutput = append:/var/log/demo/out.log\n    demo-api.Nice = 5\n"
                "    demo-api.PIDFile = /run/demo/api.pid\n")(project)
    generate.write(project)
    service = read_unit(project / "systemd" / "demo-api.service")["Service"]
    assert service["EnvironmentFile"] == ["-/etc/demo/demo.env"]
    assert service["StandardOutput"] == ["append:/var/log/demo/out.log"]
    assert service["Nice"] == ["5"] and service["PIDFile"] == ["/run/demo/api.pid"]


def test_read_only_rpm_folder_is_a_one_line_error(tmp_path: Path) -> None:
    """rpm/ on a read-only mount (a private mount namespace: the host is not touched)."""
    import shlex
    import subprocess

    from pkgtools import PYTHON, REPO

    project = make_project(tmp_path)
    (project / "rpm").mkdir()
    (project / "rpm" / "keep.txt").write_text("mine\n")
    before = _snapshot(project)
    rpm = shlex.quote(str(project / "rpm"))
    script = (f"mount --bind {rpm} {rpm} && mount -o remount,bind,ro {rpm} && "
              f"PBR_VERSION=1.0.0 PYTHONPATH={shlex.quote(str(REPO))} {shlex.quote(str(PYTHON))} "
              f"-m phoenix_rpm.cli --stage generate {shlex.quote(str(project))}")
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("build-rpm: error:")]
    assert len(lines) == 1 and "Read-only file system" in lines[0] and "writable" in lines[0], proc.stderr
    assert _snapshot(project) == before, "systemd/ must not be left behind"
