"""Hostile cases found by the red team after the WSGI/uWSGI and config-generator merges (issue 11).

Same contract as test_hostile_input.py (and the same runner): exit status 2,
one line naming the file and key, a "what to do" part, the project tree
(and any folder beside it) exactly as it was. Families:

- output paths: ``rpm/<name>.spec``, ``systemd/*`` and the folders
  themselves are read by ``--check`` and the keep-version logic and written
  by generate; a symlink or a FIFO there must be refused unread (outputs.py);
- uWSGI: the ini expands ``$(ENV)``, ``@(file)``, ``@(exec://cmd)`` and
  ``%(key)`` in values, so every address, port and name that reaches it is
  validated (validate.check_services) and escaped (escape.uwsgi_value);
- config generation: the generator's ``output_file`` names
  ``/etc/<conf>/<file>`` (spec, ExecStart, ``pyargv``), its namespaces are
  arguments in ``%install``, and files found under ``etc/`` are shipped;
- section and table names that nobody reads, other services' accounts,
  bidirectional controls.

Odd but legitimate values, and values that must come out inert, are at the
end (each asserts the exact value written).
"""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
from test_hostile_input import SECRET, Case, assert_refused, data, outside_secret, rpm_section, symlink
from test_hostile_input import raw_bytes as raw
from test_pkg_bad_input import PYPROJECT, both, cfg_append, cfg_replace, make_project, pyproject_only, write

from phoenix_rpm import escape, generate, lint, outputs
from phoenix_rpm.errors import UserError

#: a WSGI module application: the unit demo-public.service, served by uWSGI
APP = both(write("demo/wsgi/__init__.py", ""), write("demo/wsgi/public.py", "application = object()\n"))


def bind(value: str) -> object:
    return both(APP, rpm_section(f"wsgi_bind =\n    demo-public = {value}\n"))


def paste(port: str) -> object:
    return both(APP, write("etc/demo/api-paste.ini", f"[app:main]\nuse = egg:demo\n\n[server:main]\nport = {port}\n"))


GEN = "etc/demo/demo-config-generator.conf"


def generator(output_file: str, namespace: str = "demo") -> object:
    return write(GEN, f"[DEFAULT]\noutput_file = {output_file}\nwrap_width = 79\nnamespace = {namespace}\n")


def outside_dir(name: str = "outside") -> object:
    def edit(project: Path) -> None:
        (project.parent / name).mkdir(exist_ok=True)
        (project.parent / name / "keep.txt").write_text("keep\n")
    return edit


def fifo(rel: str) -> object:
    def edit(project: Path) -> None:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(project / rel)
    return edit


def outside_generator(project: Path) -> None:
    """A generator config outside the project (its output would name the host's secret)."""
    (project.parent / "gen.conf").write_text(f"[DEFAULT]\n# {SECRET}\noutput_file = etc/demo/demo.conf.sample\n"
                                             "namespace = demo\n")


def outside_templates(project: Path) -> None:
    """A folder of templates outside the project (a host folder the link would make the project's)."""
    (project.parent / "tpl").mkdir()
    (project.parent / "tpl" / "spec.j2").write_text("Name: hijacked\n")


def py(extra: str) -> object:
    return both(pyproject_only(PYPROJECT + extra), write("demo/__init__.py", ""))


PASSWD_LINE = "root:x:0:0"

CASES: list[Case] = [
    # --- output paths: never read or written through a symlink ----------------
    Case("out-spec-symlink-check", symlink("rpm/demo.spec", "/etc/passwd"), "rpm/demo.spec",
         ["is a symlink", "/etc/passwd", "remove it"], never=[PASSWD_LINE], run="check", cli=True),
    Case("out-spec-symlink-generate", symlink("rpm/demo.spec", "/etc/passwd"), "rpm/demo.spec",
         ["is a symlink", "/etc/passwd"], never=[PASSWD_LINE]),
    Case("out-spec-symlink-keep-version", symlink("rpm/demo.spec", "/etc/passwd"), "rpm/demo.spec",
         ["is a symlink"], run="keep"),
    Case("out-unit-symlink-check", symlink("systemd/demo-api.service", "/etc/passwd"), "systemd/demo-api.service",
         ["is a symlink", "/etc/passwd"], never=[PASSWD_LINE], run="check"),
    Case("out-sysusers-symlink-generate", symlink("systemd/demo.sysusers", "/etc/shadow"), "systemd/demo.sysusers",
         ["is a symlink", "/etc/shadow"]),
    Case("out-tmpfiles-symlink-relative-out", both(outside_secret(), symlink("systemd/demo.tmpfiles",
                                                                             "../../outside.txt")),
         "systemd/demo.tmpfiles", ["is a symlink"], never=[SECRET], run="check"),
    Case("out-systemd-folder-symlink-out", both(outside_dir(), symlink("systemd", "../outside")), "systemd",
         ["is a symlink", "generated folder"], outside="outside", cli=True),
    Case("out-rpm-folder-symlink-out", both(outside_dir(), symlink("rpm", "../outside")), "rpm",
         ["is a symlink"], outside="outside"),
    Case("out-rpm-folder-symlink-etc-check", symlink("rpm", "/etc"), "rpm", ["is a symlink", "'/etc'"], run="check"),
    Case("out-spec-fifo-check", fifo("rpm/demo.spec"), "rpm/demo.spec", ["not a regular file"], run="check"),
    Case("out-unit-fifo-generate", fifo("systemd/demo-api.service"), "systemd/demo-api.service",
         ["not a regular file"]),
    Case("out-spec-is-a-folder", write("rpm/demo.spec/x", "x\n"), "rpm/demo.spec", ["not a regular file"]),
    # --- uWSGI addresses: the ini expands $(...), @(...), %(...) --------------
    Case("wsgi-bind-uwsgi-exec", bind("0.0.0.0:8080 @(exec://touch /tmp/x)"), "setup.cfg",
         ["[phoenix:rpm] wsgi_bind", "demo-public.service", "is not <host>:<port>"], cli=True),
    Case("wsgi-bind-env", bind("$(HOME):8080"), "setup.cfg", ["'$(HOME):8080'", "is not <host>:<port>"]),
    Case("wsgi-bind-placeholder", bind("%%(socket)"), "setup.cfg", ["'%(socket)'", "is not <host>:<port>"]),
    Case("wsgi-bind-file-include", bind("@(/etc/shadow):8080"), "setup.cfg", ["is not <host>:<port>"]),
    Case("wsgi-bind-port-magic", bind("0.0.0.0:%%d"), "setup.cfg", ["port '%d'", "not a TCP port"]),
    Case("wsgi-bind-comment", bind("0.0.0.0:8080;x"), "setup.cfg", ["not a TCP port"]),
    Case("wsgi-bind-port-too-big", bind("0.0.0.0:70000"), "setup.cfg", ["port '70000'", "not a TCP port (1-65535)"]),
    Case("wsgi-bind-port-zero", bind("0.0.0.0:0"), "setup.cfg", ["port '0'", "not a TCP port"]),
    Case("wsgi-bind-port-fullwidth", bind("0.0.0.0:\uff18\uff10\uff18\uff10"), "setup.cfg", ["not a TCP port"]),
    Case("wsgi-bind-no-port", bind("localhost"), "setup.cfg", ["is not <host>:<port>"]),
    Case("wsgi-bind-privileged", bind("0.0.0.0:80"), "setup.cfg",
         ["privileged port 80", "[phoenix:rpm] wsgi_bind", "allow_privileged"]),
    Case("wsgi-bind-unknown-app", both(APP, rpm_section("wsgi_bind =\n    demo-publik = 0.0.0.0:8080\n")),
         "setup.cfg", ["[phoenix:rpm] wsgi_bind: 'demo-publik' names no WSGI application", "demo-public"]),
    Case("wsgi-bind-py-newline", both(py('\n[tool.phoenix.rpm]\nwsgi_bind = {"demo-public" = '
                                         '"0.0.0.0:8080\\nexec-asap = touch /tmp/x"}\n'), APP),
         "pyproject.toml", ["demo-public.service", "newline"]),
    Case("wsgi-bind-py-not-a-string-host", both(py('\n[tool.phoenix.rpm]\nwsgi_bind = {"demo-public" = 8080}\n'),
                                                APP),
         "pyproject.toml", ["'8080'", "is not <host>:<port>"]),
    Case("wsgi-bind-in-setup-cfg-of-a-pyproject", both(py(""), APP, write("setup.cfg", "[metadata]\nname = demo\n\n"
                                                                       "[phoenix:rpm]\nwsgi_bind =\n"
                                                                       "    demo-public = 0.0.0.0:80\n")),
         "setup.cfg", ["privileged port 80", "(from [phoenix:rpm] wsgi_bind)"]),
    Case("wsgi-bind-same-port-twice", both(APP, write("demo/wsgi/admin.py", "application = object()\n"),
                                           rpm_section("wsgi_bind =\n    demo-public = 0.0.0.0:8080\n"
                                                       "    demo-admin = 127.0.0.1:8080\n")),
         "setup.cfg", ["would both listen on port 8080", "demo-admin.service", "demo-public.service"]),
    Case("paste-port-out-of-range", paste("99999"), "setup.cfg",
         ["port '99999'", "etc/demo/api-paste.ini [server:main] port", "set [phoenix:rpm] wsgi_bind"]),
    Case("paste-port-privileged", paste("443"), "setup.cfg",
         ["privileged port 443", "etc/demo/api-paste.ini [server:main] port"], cli=True),
    Case("paste-symlink-out", both(APP, outside_secret("outside.ini"), symlink("etc/demo/api-paste.ini",
                                                                               "../../../outside.ini")),
         "etc/demo/api-paste.ini", ["found under etc/", "through a symlink"], never=[SECRET]),
    Case("paste-odd-file-name", both(APP, write("etc/demo/x y-paste.ini", "[app:main]\nuse = egg:demo\n")),
         "etc/demo/x y-paste.ini", ["'x y-paste.ini' is not a plain file name"]),
    # --- config generation ------------------------------------------------------
    Case("generator-output-file-command", generator("etc/demo/x$(touch m).conf"), GEN,
         ["[DEFAULT] output_file", "'x$(touch m).conf'", "not a plain file name"], cli=True),
    Case("generator-output-file-space", generator("etc/demo/a b.conf"), GEN, ["output_file", "'a b.conf'"]),
    Case("generator-output-file-uwsgi-magic", generator("etc/demo/x@(exec:id).conf"), GEN, ["output_file"]),
    Case("generator-output-file-placeholder", generator("etc/demo/%(x)s.conf"), GEN, ["output_file", "'%(x)s.conf'"]),
    Case("generator-output-file-option", generator("etc/demo/-rf"), GEN, ["output_file", "'-rf'"]),
    Case("generator-output-file-quote", generator("etc/demo/a'b.conf"), GEN, ["output_file"]),
    Case("generator-symlink-out", both(outside_generator, cfg_replace("        etc/demo/demo.conf",
                                                                        "        etc/demo/other.ini"),
                                       write("etc/demo/other.ini", "x = 1\n"), symlink(GEN, "../../../gen.conf")),
         GEN, ["found under etc/", "through a symlink"], never=[SECRET]),
    *[Case(f"generator-{key}-{i}", write(GEN, f"[DEFAULT]\noutput_file = etc/demo/demo.conf.sample\n"
                                            f"namespace = demo\n{key} = {value}\n"),
           GEN, [f"[DEFAULT] {key} = {value!r}", why])
      for i, (key, value, why) in enumerate([("wrap_width", "$(id)", "not a line width"),
                                             ("wrap_width", "0", "not a line width"),
                                             ("wrap_width", "\u0667\u0669", "not a line width"),
                                             ("minimal", "maybe", "not a boolean"),
                                             ("summarize", "%(x)s", "not a boolean")])],
    Case("generator-symlink-to-dev-zero", symlink(GEN, "/dev/zero"), GEN, ["found under etc/", "through a symlink",
                                                                           "/dev/zero"]),
    Case("generator-fifo", fifo("tools/config-generator/demo.conf"), "tools/config-generator/demo.conf",
         ["not a regular file"]),
    Case("namespace-is-an-option", cfg_append("oslo.config.opts =\n    --help = demo.opts:list_opts\n"), "setup.cfg",
         ["'--help' in oslo.config.opts", "not a plain namespace name"]),
    Case("namespace-command", cfg_append("oslo.config.opts =\n    a$(id) = demo.opts:list_opts\n"), "setup.cfg",
         ["'a$(id)' in oslo.config.opts"]),
    Case("policy-namespace-percent", cfg_append("oslo.policy.policies =\n    a%%{lua:x} = demo.p:list\n"),
         "setup.cfg", ["'a%{lua:x}' in oslo.policy.policies"]),
    Case("templates-folder-symlink-out", both(outside_templates, symlink("rpm/templates", "../../tpl")),
         "rpm/templates", ["'spec.j2' is a symlink out of rpm/templates"], outside="tpl"),
    Case("script-and-entry-point-same-name", both(write("bin/demo-api", "#!/bin/sh\n"),
                                                  cfg_replace("packages = demo", "packages = demo\nscripts = bin/demo-api")),
         "setup.cfg", ["[files] scripts: 'bin/demo-api' and the entry point 'demo-api'", "rename one"]),
    Case("pyproject-not-utf8", both(write("demo/__init__.py", ""), raw("pyproject.toml",
                                                                     b'[project]\nname = "demo"\n'
                                                                     b'description = "caf\xe9"\n')),
         "pyproject.toml", ["not UTF-8 (byte 0xe9)", "save the file as UTF-8"], line=3),
    Case("setup-cfg-bom", lambda p: (p / "setup.cfg").write_bytes(b"\xef\xbb\xbf" + (p / "setup.cfg").read_bytes()),
         "setup.cfg", ["byte-order mark", "without a BOM"], line=1, cli=True),
    Case("pyproject-bom", both(write("demo/__init__.py", ""), raw("pyproject.toml", b"\xef\xbb\xbf"
                                                                  + PYPROJECT.encode())),
         "pyproject.toml", ["byte-order mark", "without a BOM"], line=1),
    # --- other files read on the project's behalf -------------------------------
    Case("pkg-info-symlink-out", symlink("PKG-INFO", "/etc/passwd"), "PKG-INFO",
         ["PKG-INFO is a symlink to /etc/passwd", "never read"], never=[PASSWD_LINE], cli=True,
         env={"PBR_VERSION": ""}),
    # --- the environment: careless values are one line, not a traceback ----------
    *[Case(f"source-date-epoch-{i}", lambda p: None, "SOURCE_DATE_EPOCH", [f"{value!r} is not a time in seconds"],
           cli=True, env={"SOURCE_DATE_EPOCH": value})
      for i, value in enumerate(["\u00b2", "9" * 20, "-5", "1e9", "1700000000 "])],
    # --- sections and tables that nobody reads --------------------------------
    Case("cfg-section-case", cfg_append("\n[Phoenix:RPM]\nallow_privileged = true\n"), "setup.cfg",
         ["section [Phoenix:RPM] is read by nobody", "rename it [phoenix:rpm]"], line=19, cli=True),
    Case("cfg-section-dash", cfg_append("\n[phoenix-rpm]\nuser = demo\n"), "setup.cfg",
         ["[phoenix-rpm]", "rename it [phoenix:rpm]"], line=19),
    Case("cfg-section-underscore", cfg_append("\n[phoenix_rpm]\nuser = demo\n"), "setup.cfg", ["[phoenix_rpm]"]),
    Case("cfg-section-metadata-case", cfg_append("\n[Metadata]\nsummary = other\n"), "setup.cfg",
         ["[Metadata]", "rename it [metadata]"]),
    Case("cfg-section-entry-points-dash", cfg_append("\n[entry-points]\nconsole_scripts =\n    x = demo.api:main\n"),
         "setup.cfg", ["[entry-points]", "rename it [entry_points]"]),
    Case("cfg-section-files-case", cfg_append("\n[FILES]\nscripts = x\n"), "setup.cfg", ["[FILES]"]),
    Case("cfg-section-verify-case", cfg_append("\n[Phoenix:Verify]\nchecks = x\n"), "setup.cfg",
         ["rename it [phoenix:verify]"]),
    Case("py-table-case", py('\n[tool.Phoenix.rpm]\nallow_privileged = true\n'), "pyproject.toml",
         ["[tool.Phoenix] is read by nobody"], cli=True),
    Case("py-table-dash", py('\n[tool.phoenix-rpm]\nuser = "demo"\n'), "pyproject.toml", ["[tool.phoenix-rpm]"]),
    Case("py-table-sub-case", py('\n[tool.phoenix.RPM]\nuser = "demo"\n'), "pyproject.toml",
         ["[tool.phoenix.RPM] is read by nobody"]),
    Case("py-table-sub-typo", py('\n[tool.phoenix.rmp]\nuser = "demo"\n'), "pyproject.toml",
         ["[tool.phoenix.rmp]"]),
    # --- accounts of other services ---------------------------------------------
    *[Case(f"account-{key}-{name}", rpm_section(f"{key} = {name}\n"), "setup.cfg",
           [f"[phoenix:rpm] {key} = {name}", "the account of another service or of the system"])
      for key, name in [("user", "sshd"), ("user", "postgres"), ("group", "messagebus"),
                        ("user", "systemd-network"), ("group", "polkitd"), ("user", "www-data")]],
    Case("account-default-named-like-a-daemon", both(cfg_replace("name = demo", "name = postgres"),
                                                     cfg_replace("etc/demo =", "etc/postgres ="),
                                                     write("etc/postgres/x.conf", "[DEFAULT]\n")),
         "setup.cfg", ["the user named after the project = postgres", "set [phoenix:rpm] user"]),
    # --- targets that make the machine trust, or root run, what the project ships ----
    *[Case(f"target-{i}-{target.replace('/', '-')}", both(rpm_section("install_mode = system\n") if system else
                                                          (lambda p: None),
                                                          data(f"    {target} = etc/demo/demo.conf")),
           "setup.cfg", ["data_files", why], line=13)
      for i, (target, system, why) in enumerate([
          ("etc/ssl/certs", False, "/etc/ssl is a system folder"),
          ("etc/gdbinit.d", False, "/etc/gdbinit.d is a system folder"),
          ("etc/vimrc", False, "/etc/vimrc is a system folder"),
          ("share/pki/ca-trust-source/anchors", True, "/usr/share/pki/ is a system folder"),
          ("share/bash-completion/completions", True, "/usr/share/bash-completion/"),
          ("share/gdb/auto-load", True, "/usr/share/gdb/"),
          ("share/vim/vimfiles/plugin", True, "/usr/share/vim/"),
          ("share/systemd/user", True, "/usr/share/systemd/"),
          ("lib/locale", True, "/usr/lib/locale/"),
          ("lib/firewalld/services", True, "/usr/lib/firewalld/"),
          ("share/X11/xorg.conf.d", True, "/usr/share/X11/"),
          ("share/applications", True, "/usr/share/applications/"),
      ])],
    Case("extra-file-trust-anchor", rpm_section("extra_files =\n    /usr/share/pki/ca-trust-source/anchors/x.pem = "
                                                "etc/demo/demo.conf\n"),
         "setup.cfg", ["extra_files", "/usr/share/pki/"]),
    Case("summary-too-long", cfg_replace("summary = Demo service", "summary = " + "x" * 5000), "setup.cfg",
         ["[metadata] summary is 5000 characters long", "at most 4096"], cli=True),
    Case("py-license-too-long", both(write("demo/__init__.py", ""), pyproject_only(PYPROJECT.replace(
        'description = "Demo"', 'description = "Demo"\nlicense = {text = "' + "MIT " * 2000 + '"}'))),
         "pyproject.toml", ["[project] license is 7999 characters long"]),
    # --- unit names of the system's own services ----------------------------------
    *[Case(f"unit-named-like-system-{name}", cfg_replace("demo-api = demo.api:main", f"{name} = demo.api:main"),
           "setup.cfg", [f"the unit {name}.service", "has the name of a system service's unit"])
      for name in ["sshd", "emergency", "systemd-journald", "dbus", "crond", "uwsgi", "NetworkManager"]],
    # --- text that displays otherwise than it reads -----------------------------
    Case("summary-bidi-override", cfg_replace("summary = Demo service", "summary = Demo \u202e evil"), "setup.cfg",
         ["[metadata] summary", "control character '\\u202e'"]),
    Case("author-bidi-isolate", cfg_replace("author = Demo", "author = D\u2066emo"), "setup.cfg",
         ["[metadata] author", "'\\u2066'"]),
    Case("description-bidi", cfg_replace("summary = Demo service", "summary = Demo\ndescription = a\u2067b"),
         "setup.cfg", ["[metadata] description", "'\\u2067'"]),
    Case("description-line-separator", cfg_replace("summary = Demo service",
                                                   "summary = Demo\ndescription = a\u2028%%post"),
         "setup.cfg", ["[metadata] description", "'\\u2028'"]),
    Case("py-description-bidi", both(pyproject_only(PYPROJECT.replace('description = "Demo"',
                                                                                 'description = "D\\u202ee"')),
                                                write("demo/__init__.py", "")),
         "pyproject.toml", ["[project] description", "'\\u202e'"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_red_team_input_is_refused(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_refused(case, tmp_path, monkeypatch)


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 60, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES)


# --- odd but legitimate, or inert ---------------------------------------------


def _gen(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    generate.write(project)


def test_a_stale_symlink_in_systemd_is_neither_read_nor_removed(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A link that is not a generated file (systemd/old.service -> elsewhere) is left alone, never followed."""
    project = make_project(tmp_path)
    target = tmp_path / "elsewhere.service"
    target.write_text("# Generated by tools/build-rpm --stage generate\n[Service]\n")
    (project / "systemd").mkdir()
    (project / "systemd" / "old.service").symlink_to(target)
    _gen(project, monkeypatch)
    assert (project / "systemd" / "old.service").is_symlink()
    assert target.read_text().startswith("# Generated")
    assert generate.check(project) == 0


def test_generated_files_replace_nothing_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ordinary case still works, and --check reads the files generate wrote."""
    project = make_project(tmp_path)
    _gen(project, monkeypatch)
    assert generate.check(project) == 0
    assert outputs.read(project, "rpm/demo.spec") == (project / "rpm" / "demo.spec").read_text()
    assert outputs.read(project, "rpm/missing.spec") is None


def test_rpmlintrc_symlink_is_refused(tmp_path: Path) -> None:
    """rpmlint would read rpm/rpmlintrc -> /etc/shadow and quote its lines: refused, unread."""
    project = make_project(tmp_path)
    (project / "rpm").mkdir()
    (project / "rpm" / "rpmlintrc").symlink_to("/etc/shadow")
    with pytest.raises(UserError, match=r"rpm/rpmlintrc: is a symlink"):
        lint.project_rpmlintrc(project, "demo")


def test_build_sources_never_follow_a_symlinked_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build copies systemd/* into the SRPM: a link to /etc/passwd there is refused, not shipped."""
    from phoenix_rpm import build

    project = make_project(tmp_path)
    _gen(project, monkeypatch)
    inp = build.load_inputs(project)
    unit = project / "systemd" / "demo-api.service"
    unit.unlink()
    unit.symlink_to("/etc/passwd")
    # only the project's own files (no sdist, no wheels: those are made, not copied)
    inp = dataclasses.replace(inp, sources=tuple(s for s in inp.sources if s.path is not None))
    with pytest.raises(UserError, match=r"demo-api.service: is a symlink"):
        build.collect_sources(project, inp, tmp_path / "SOURCES", 0, None)
    assert not (tmp_path / "SOURCES" / "demo-api.service").exists()


@pytest.mark.parametrize("value", [
    "0.0.0.0:8080 @(exec://touch M)", "$(HOME)", "%(socket)", "%d", "a;b", "a#b", "a\nb", "'x'", " x", "x ",
    "a\u202eb",
])
def test_uwsgi_value_refuses_what_uwsgi_would_expand(value: str) -> None:
    with pytest.raises(escape.EscapeError):
        escape.uwsgi_value(value)


@pytest.mark.parametrize("value", ["0.0.0.0:8080", "[::]:8080", "/usr/lib/demo/bin/python",
                                   "--config-file /etc/demo/demo.conf --config-dir /etc/demo/demo.conf.d",
                                   "Connection: close", "@PHOENIX_PYTHON3_SITELIB@/demo/app.wsgi"])
def test_uwsgi_value_passes_plain_values(value: str) -> None:
    assert escape.uwsgi_value(value) == value


def test_folders_walked_for_config_never_leave_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tools -> /`` made generate walk the whole file system for generator configs; ``etc -> /etc`` found
    the host's paste files. A symlinked top folder is not walked (docs/packaging.md "Config generation")."""
    from phoenix_rpm import configgen, setupcfg

    project = make_project(tmp_path)
    outside = tmp_path / "outside"
    (outside / "demo").mkdir(parents=True)
    (outside / "demo" / "x-config-generator.conf").write_text("[DEFAULT]\noutput_file = x.conf\nnamespace = x\n")
    (outside / "demo" / "api-paste.ini").write_text("[server:main]\nport = 8123\n")
    (project / "tools").symlink_to(outside)
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    loaded = setupcfg.load(project)
    assert configgen.find_generators(loaded) == []
    assert configgen.paste_files(loaded) == []  # etc/ of the project has no paste file
    (project / "etc" / "demo" / "api-paste.ini").symlink_to(outside / "demo" / "api-paste.ini")
    with pytest.raises(UserError, match="through a symlink"):
        generate.write(project)


def test_privileged_port_with_the_opt_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    both(APP, rpm_section("allow_privileged = true\nwsgi_bind =\n    demo-public = [::]:443\n"))(project)
    _gen(project, monkeypatch)
    ini = (project / "systemd" / "demo-public-uwsgi.ini").read_text()
    assert "\nhttp-socket = [::]:443\n" in ini


def test_a_port_in_other_digits_is_not_a_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``port = ²`` (str.isdigit() is True, int() fails) used to be a traceback; now it is no port at all."""
    project = make_project(tmp_path)
    paste("\u00b2")(project)
    _gen(project, monkeypatch)
    ini = (project / "systemd" / "demo-public-uwsgi.ini").read_text()
    port = re.search(r"^http-socket = 0\.0\.0\.0:(\d+)$", ini, re.M)
    assert port and 1024 <= int(port.group(1)) <= 65535, ini


@pytest.mark.parametrize("stem", ["a b", "$(id)", "%n", "-rf", "x.y", "\u00fc"])
def test_wsgi_module_files_that_cannot_be_imported_make_no_unit(stem: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``demo/wsgi/$(id).py`` made a unit ``demo-$(id).service``, listed in the root %post; now it is no app."""
    project = make_project(tmp_path)
    APP(project)
    (project / "demo" / "wsgi" / f"{stem}.py").write_text("application = object()\n")
    _gen(project, monkeypatch)
    units = sorted(p.name for p in (project / "systemd").iterdir())
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", u) for u in units), units
    assert "demo-public.service" in units
    assert f"demo-{stem}" not in (project / "rpm" / "demo.spec").read_text()


# --- the real uWSGI reads the generated ini back as written -----------------------------

PYUWSGI = "pyuwsgi==2.0.30.post1"  # what the bundled venvs get (wsgiapps.PYUWSGI), pinned for the cache key


def _uwsgi() -> Path:
    """A uWSGI binary (pyuwsgi in a venv cached under /var/cache/phoenix, keyed by its version; ~10 s once)."""
    import fcntl
    import shutil
    import subprocess
    import sys

    from phoenix_rpm import cachedirs

    base = cachedirs.cache_dir("uwsgi-probe")
    venv = base / f"{PYUWSGI.replace('==', '-')}-py{sys.version_info[0]}{sys.version_info[1]}"
    binary = venv / "bin" / "uwsgi"
    with open(base / ".lock", "w") as lock:  # xdist workers (and other checkouts) share the cache
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.is_file():
            shutil.rmtree(venv, ignore_errors=True)  # a half-made venv of an interrupted run
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", PYUWSGI],
                           check=True, timeout=300)
    return binary


def _show_config(ini: Path, tmp: Path) -> list[tuple[str, str]]:
    """The config uWSGI parsed from ``ini`` (its --show-config), then it exits: no app can load."""
    import subprocess

    proc = subprocess.run([str(_uwsgi()), "--ini", str(ini), "--show-config", "--http-socket", "127.0.0.1:0",
                           "--binary-path", str(_uwsgi().parent / "python")],
                          capture_output=True, text=True, timeout=60, cwd=tmp)
    text = proc.stdout + proc.stderr
    block = text.split("[uwsgi]\n", 1)[1].split(";end of configuration", 1)[0]
    return [tuple(line.split(" = ", 1)) for line in block.splitlines() if " = " in line]  # type: ignore[misc]


def test_uwsgi_probe_expands_what_the_escaping_refuses(tmp_path: Path) -> None:
    """The control: the real uWSGI does run @(exec://...) and expand $(...) (so refusing them matters)."""
    marker = tmp_path / "ran"
    ini = tmp_path / "control.ini"
    ini.write_text(f"[uwsgi]\nfoo = $(PHOENIX_PROBE)\nbar = @(exec://touch {marker})\nneed-app = true\n"
                   "module = no_such_module_here:application\n")
    os.environ["PHOENIX_PROBE"] = "expanded"
    try:
        pairs = _show_config(ini, tmp_path)
    finally:
        del os.environ["PHOENIX_PROBE"]
    assert ("foo", "expanded") in pairs
    assert marker.exists(), "uWSGI ran @(exec://...)"


def test_real_uwsgi_reads_the_generated_ini_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every key and value of a generated ini (with an IPv6 address and pyargv) comes back unchanged."""
    project = make_project(tmp_path)
    both(APP, rpm_section("wsgi_bind =\n    demo-public = [::1]:18080\n"))(project)
    _gen(project, monkeypatch)
    ini = project / "systemd" / "demo-public-uwsgi.ini"
    written = [tuple(line.split(" = ", 1)) for line in ini.read_text().splitlines()
               if " = " in line and not line.startswith("#")]
    assert ("http-socket", "[::1]:18080") in written and any(k == "pyargv" for k, _ in written)
    parsed = _show_config(ini, tmp_path)
    assert parsed[0][0] == "ini"
    assert parsed[1:len(written) + 1] == written


def test_build_refuses_a_dist_symlink_and_a_constraints_symlink(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``dist -> /etc/cron.d``: the build would write its packages and state there (and remove old ones);
    ``upper-constraints.txt -> /etc/shadow`` would be handed to pip. Both refused before anything runs."""
    from phoenix_rpm import build

    project = make_project(tmp_path)
    _gen(project, monkeypatch)
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "dist").symlink_to(outside)
    with pytest.raises(UserError, match=r"/dist: is a symlink"):
        build.build(project, box="host")
    assert list(outside.iterdir()) == []
    (project / "dist").unlink()
    (project / "upper-constraints.txt").symlink_to("/etc/shadow")
    with pytest.raises(UserError, match=r"upper-constraints.txt is a symlink to /etc/shadow"):
        build.build(project, box="host")
    assert not (project / "dist").exists()


def test_other_tools_tables_and_sections_stay_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The near-miss rule is for our own names only: [tool.phoenixdb] or [egg_info] are someone else's."""
    project = make_project(tmp_path)
    cfg_append("\n[egg_info]\ntag_build =\n\n[options.metadata]\nx = 1\n")(project)
    _gen(project, monkeypatch)
    other = make_project(tmp_path / "py")
    py('\n[tool.phoenixdb]\nx = 1\n[tool.phoenix.ops]\nprofile = "p.py"\n')(other)
    _gen(other, monkeypatch)
    assert (other / "rpm" / "demo.spec").is_file()
