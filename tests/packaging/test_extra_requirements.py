"""[phoenix:rpm] extras / requirements: runtime requirements the project does not list itself.

A database driver is the usual case (docs/packaging.md, "Extra
requirements"): the project's own extra by name, or any requirement line.
Parsed at the edge, into the plan's requirements (wheels, venv, Requires);
every wrong form a one-line error naming the file, the key and the line,
exit 2 through the CLI with nothing written. The driver really reaching
the service is the corpus verify tier's (tests/corpus/test_corpus_verify.py:
placement on MariaDB through the PyMySQL this key adds).
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from phoenix_rpm import backing, generate
from phoenix_rpm.errors import UserError
from phoenix_rpm.verify_profile import ConfigOption, VerifyProfile


def _project(tmp_path: Path, cfg: str, requirements: str = "oslo.config>=9.0\n") -> Path:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "__init__.py").write_text("")
    (tmp_path / "demo" / "api.py").write_text("def main():\n    pass\n")
    (tmp_path / "requirements.txt").write_text(requirements)
    (tmp_path / "setup.cfg").write_text(textwrap.dedent(cfg))
    return tmp_path


SETUP_CFG = """\
    [metadata]
    name = demo
    version = 1.0.0

    [entry_points]
    console_scripts =
        demo-api = demo.api:main

    [extras]
    mysql =
        PyMySQL>=0.8.0 # MIT License
    postgresql =
        psycopg2-binary>=2.8
    """


def test_setup_cfg_extras_and_requirements_join_the_runtime_requirements(tmp_path: Path) -> None:
    project = _project(tmp_path, SETUP_CFG + "\n    [phoenix:rpm]\n    extras = mysql\n"
                       "    requirements =\n        pymemcache>=3.5\n        oslo.config>=9.0\n")
    plan = generate.load_plan(project)
    assert list(plan.requirements[:3]) == ["oslo.config>=9.0", "PyMySQL>=0.8.0", "pymemcache>=3.5"]
    assert "psycopg2-binary>=2.8" not in plan.requirements  # an extra not asked for stays out


def test_pyproject_optional_dependencies_and_tool_table(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""\
        [project]
        name = "demo"
        version = "1.0.0"
        dependencies = ["oslo.config>=9.0"]

        [project.optional-dependencies]
        MySQL = ["PyMySQL>=1.0"]

        [tool.phoenix.rpm]
        extras = ["mysql"]
        requirements = ["python-memcached>=1.59"]
        """))
    plan = generate.load_plan(tmp_path)
    assert list(plan.requirements[:3]) == ["oslo.config>=9.0", "PyMySQL>=1.0", "python-memcached>=1.59"]


BAD = [
    ("[phoenix:rpm]\nextras = mongo\n", "[phoenix:rpm] extras: 'mongo' is not an extra of demo; "
     "use one of the project's extras: mysql, postgresql", "extras ="),
    ("[phoenix:rpm]\nrequirements =\n    PyMySQL>=>1\n", "[phoenix:rpm] requirements: 'PyMySQL>=>1' is not a valid "
     "requirement", "PyMySQL>=>1"),
    ("[phoenix:rpm]\nrequirements =\n    demo[mysql]\n", "[phoenix:rpm] requirements: 'demo[mysql]' names the "
     "project itself; list its extras under extras instead", "demo[mysql]"),
    ("[phoenix:rpm]\nrequirements =\n    --index-url http://x\n", "pip option '--index-url http://x' is not a "
     "runtime requirement", "--index-url"),
]


@pytest.mark.parametrize("section, problem, where", BAD, ids=["unknown-extra", "bad-line", "self", "pip-option"])
def test_bad_keys_name_file_line_and_key(tmp_path: Path, section: str, problem: str, where: str) -> None:
    project = _project(tmp_path, SETUP_CFG)
    with (project / "setup.cfg").open("a") as f:
        f.write("\n" + section)
    with pytest.raises(UserError) as err:
        generate.load_plan(project)
    text = (project / "setup.cfg").read_text().splitlines()
    line = next(n for n, t in enumerate(text, 1) if where in t)
    assert str(err.value).startswith(f"{project / 'setup.cfg'}:{line}: "), err.value
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_no_extras_declared_says_to_list_the_requirement(tmp_path: Path) -> None:
    project = _project(tmp_path, "[metadata]\nname = demo\nversion = 1.0.0\n\n[phoenix:rpm]\nextras = mysql\n")
    with pytest.raises(UserError, match=r"setup.cfg:6: \[phoenix:rpm\] extras: 'mysql' is not an extra of demo; "
                       r"the project declares no extras .*list the requirement itself under requirements"):
        generate.load_plan(project)


def test_toml_type_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n\n'
                                             '[tool.phoenix.rpm]\nrequirements = "PyMySQL"\n')
    with pytest.raises(UserError, match=r"pyproject.toml: \[tool.phoenix.rpm\] requirements is not a list"):
        generate.load_plan(tmp_path)


def test_cli_exit_2_and_nothing_written(tmp_path: Path) -> None:
    project = _project(tmp_path, SETUP_CFG + "\n    [phoenix:rpm]\n    extras = mongo\n")
    proc = subprocess.run([sys.executable, "-m", "phoenix_rpm.cli", "--stage", "generate", str(project)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"build-rpm: error: {project / 'setup.cfg'}:")
    assert "Traceback" not in proc.stderr
    assert not (project / "rpm").exists() and not (project / "systemd").exists()


# --- verify: the client library a needed server wants, read from the built RPM ---

CLIENT_SPEC = """\
Name: demo
Version: 1.0
Release: 1
Summary: demo
License: MIT
BuildArch: noarch
{provides}
%description
demo
%files
"""


def _rpm(tmp_path: Path, provides: str) -> Path:
    top = tmp_path / "rpmbuild"
    top.mkdir()
    spec = top / "demo.spec"
    spec.write_text(CLIENT_SPEC.format(provides=provides))
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)], check=True,
                   capture_output=True, timeout=120)
    return next((top / "RPMS" / "noarch").glob("demo-1.0-1.noarch.rpm"))


def test_clients_from_the_rpm_choose_the_driver_and_a_missing_one_is_exit_2(tmp_path: Path) -> None:
    rpm = _rpm(tmp_path, "Provides: bundled(python3dist(mysqlclient)) = 2.2\n"
                         "Provides: bundled(python3dist(pymemcache)) = 4.0\n"
                         "Requires: python3dist(psycopg)")
    profile = VerifyProfile(source="/src/demo/setup.cfg [phoenix:verify]", needs=("mariadb", "memcached"))
    assert backing.carried_dists(rpm) >= {"mysqlclient", "pymemcache", "psycopg"}
    assert backing.clients_for(profile, rpm) == {"mariadb": "mysql+mysqldb", "memcached": "dogpile.cache.pymemcache"}
    pg = VerifyProfile(source="/src/demo/setup.cfg [phoenix:verify]", needs=("postgresql", "rabbitmq"))
    assert backing.clients_for(pg, rpm) == {"postgresql": "postgresql+psycopg"}   # system mode: Requires
    (tmp_path / "bare").mkdir()
    bare = _rpm(tmp_path / "bare", "")
    with pytest.raises(UserError) as err:
        backing.clients_for(profile, bare)
    assert str(err.value).startswith("/src/demo/setup.cfg: [phoenix:verify] needs = mariadb: the package carries "
                                     "no mariadb client library (pymysql, mysqlclient, mysql-connector-python)")
    assert "[phoenix:rpm] requirements = PyMySQL" in str(err.value)
    # A profile giving its own URL is taken at its word.
    own = VerifyProfile(source="x [phoenix:verify]", needs=("mariadb",),
                        config=(ConfigOption("database", "connection", "mysql+oursql://..."),))
    assert backing.clients_for(own, bare) == {}
