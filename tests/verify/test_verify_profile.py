"""The verify profile ([phoenix:verify] / [tool.phoenix.verify]): parsing and its errors.

Pure parsing, no box: every key's good form, and every bad form giving a
one-line error that names the file and the key (exit 2 through the CLI).
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from phoenix_rpm import verify_profile
from phoenix_rpm.errors import UserError
from phoenix_rpm.verify_profile import ConfigOption, HttpProbe, VerifyProfile

REPO = Path(__file__).resolve().parents[2]


def _cfg(tmp_path: Path, body: str) -> Path:
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = demo\n\n[phoenix:verify]\n" + textwrap.dedent(body))
    return tmp_path


def test_no_profile_is_the_empty_default(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = demo\n")
    profile = verify_profile.load(tmp_path)
    assert profile == VerifyProfile()
    assert profile.needs == () and profile.packages == () and profile.settle == verify_profile.DEFAULT_SETTLE


def test_full_setup_cfg_profile(tmp_path: Path) -> None:
    profile = verify_profile.load(_cfg(tmp_path, """\
        needs = mariadb rabbitmq, memcached
        config =
            DEFAULT.debug = true
            oslo_policy.enforce_scope = false
        setup =
            demo-manage db sync
            demo-manage bootstrap --name 'a b'
        checks =
            demo-api: GET /v1 -> 200
            GET /healthcheck -> <500
        settle = 4.5
        """))
    assert profile.needs == ("mariadb", "rabbitmq", "memcached")
    assert profile.packages == ("mariadb-server", "memcached", "rabbitmq-server")
    assert profile.config == (ConfigOption("DEFAULT", "debug", "true"),
                              ConfigOption("oslo_policy", "enforce_scope", "false"))
    assert profile.setup == ("demo-manage db sync", "demo-manage bootstrap --name 'a b'")
    assert profile.checks == (HttpProbe("GET", "/v1", status=200, unit="demo-api"),
                              HttpProbe("GET", "/healthcheck", below=500))
    assert profile.settle == 4.5
    assert profile.checks_for("demo-api.service") == profile.checks
    assert profile.checks_for("other-api.service") == (HttpProbe("GET", "/healthcheck", below=500),)
    assert profile.source.endswith("setup.cfg [phoenix:verify]")


def test_tables_and_references_to_generated_settings(tmp_path: Path) -> None:
    """A project reading its URL from its own option names the generated one: {section.key}."""
    from phoenix_rpm import backing

    profile = verify_profile.load(_cfg(tmp_path, """\
        needs = mariadb rabbitmq
        config =
            placement_database.connection = {database.connection}
            oslo_messaging_notifications.transport_url = {DEFAULT.transport_url}
        tables = resource_providers, alembic_version
        """))
    assert profile.tables == ("resource_providers", "alembic_version") and profile.sql_server == "mariadb"
    made = [ConfigOption("database", "connection", "mysql+pymysql://demo:pw@127.0.0.1/demo"),
            ConfigOption("DEFAULT", "transport_url", "rabbit://demo:pw@127.0.0.1:5672/demo")]
    text = backing.dropin_text(made, profile)
    assert "[placement_database]\nconnection = mysql+pymysql://demo:pw@127.0.0.1/demo\n" in text
    assert "[oslo_messaging_notifications]\ntransport_url = rabbit://demo:pw@127.0.0.1:5672/demo" in text
    assert "{" not in text


def test_pyproject_profile_with_config_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""\
        [project]
        name = "demo"
        version = "1.0"

        [tool.phoenix.verify]
        needs = ["postgresql"]
        setup = ["demo-manage db sync"]
        checks = ["GET / -> 300"]
        settle = 2

        [tool.phoenix.verify.config.DEFAULT]
        debug = true
        hosts = ["a", "b"]
        """))
    profile = verify_profile.load(tmp_path)
    assert profile.needs == ("postgresql",)
    assert profile.config == (ConfigOption("DEFAULT", "debug", "true"), ConfigOption("DEFAULT", "hosts", "a,b"))
    assert profile.checks == (HttpProbe("GET", "/", status=300),)
    assert profile.settle == 2.0
    assert HttpProbe("GET", "/", below=500).accepts(404) and not HttpProbe("GET", "/", below=500).accepts(503)


BAD_CFG = [
    ("colour = blue", "[phoenix:verify] unknown key 'colour'", 5),
    ("needs = mariadb mongodb", "needs: unknown backing service 'mongodb'", 5),
    ("needs = mariadb postgresql", "needs: both mariadb and postgresql", 5),
    ("config =\n    debug = true", "config: 'debug = true' is not 'section.key = value'", 6),
    ("setup =\n    demo-manage 'unclosed", "setup: \"demo-manage 'unclosed\" is not a valid command line", 6),
    ("checks =\n    GET /v1 200", "checks: 'GET /v1 200' is not '[unit:] GET /path -> status'", 6),
    ("checks =\n    POST /v1 -> 201", "method POST is not one of GET, HEAD, OPTIONS", 6),
    ("checks =\n    GET v1 -> 200", "path 'v1' does not start with '/'", 6),
    ("checks =\n    GET / -> 999", "999 is not an HTTP status", 6),
    ("settle = soon", "settle = 'soon' is not a number of seconds", 5),
    ("settle = 1000", "settle = 1000: out of range", 5),
    ("needs = mariadb\ntables = ok bad-name", "tables: 'bad-name' is not a table name", 6),
    ("needs = rabbitmq\ntables = items", "tables: the profile needs no SQL server to hold them", 6),
    ("needs = rabbitmq\nconfig =\n    api_db.connection = {database.connection}",
     "{database.connection} is not a setting this profile's needs create", 7),
]


@pytest.mark.parametrize("body, problem, line", BAD_CFG, ids=[b[1].split(":")[0][:30] for b in BAD_CFG])
def test_bad_setup_cfg_keys_name_file_key_and_line(tmp_path: Path, body: str, problem: str, line: int) -> None:
    _cfg(tmp_path, body + "\n")
    with pytest.raises(UserError) as err:
        verify_profile.load(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'setup.cfg'}:{line}: "), message
    assert problem in message
    assert "\n" not in message


BAD_TOML = [
    ('needs = 3', "[tool.phoenix.verify] needs is not a list of strings"),
    ('settle = "x"', "[tool.phoenix.verify] settle = 'x' is not a number of seconds"),
    ('checks = ["GET /"]', "checks: 'GET /' is not '[unit:] GET /path -> status'"),
    ('typo = 1', "[tool.phoenix.verify] unknown key 'typo'"),
    ('config = {DEFAULT = 3}', "[tool.phoenix.verify] config.DEFAULT is not a table"),
]


@pytest.mark.parametrize("body, problem", BAD_TOML, ids=[b[0].split(" ")[0] for b in BAD_TOML])
def test_bad_pyproject_keys(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "demo"\nversion = "1"\n\n[tool.phoenix.verify]\n{body}\n')
    with pytest.raises(UserError) as err:
        verify_profile.load(tmp_path)
    assert str(err.value).startswith(str(tmp_path / "pyproject.toml")), err.value
    assert problem in str(err.value)


def test_check_naming_a_non_wsgi_unit_is_refused(tmp_path: Path) -> None:
    profile = verify_profile.load(_cfg(tmp_path, "checks =\n    demo-worker: GET / -> 200\n"))
    with pytest.raises(UserError, match=r"checks: 'demo-worker' is not a WSGI application .*name one of: demo-api"):
        verify_profile.check_units(profile, ["demo-api.service"], ["demo-api.service", "demo-worker.service"])
    with pytest.raises(UserError, match="is not a service of the package"):
        verify_profile.check_units(verify_profile.load(_cfg(tmp_path, "checks =\n    nope: GET / -> 200\n")),
                                   ["demo-api.service"], ["demo-api.service"])
    verify_profile.check_units(verify_profile.load(_cfg(tmp_path, "checks =\n    demo-api: GET / -> 200\n")),
                               ["demo-api.service"], ["demo-api.service"])


def test_cli_exits_2_on_a_bad_profile_before_building(tmp_path: Path) -> None:
    """Through tools/build-rpm: exit 2, one line naming file and key, nothing built."""
    import shutil

    project = tmp_path / "eos"
    shutil.copytree(REPO / "tests" / "data" / "wsgi", project)
    with (project / "setup.cfg").open("a") as f:
        f.write("\n[phoenix:verify]\nneeds = mariadb mongodb\n")
    proc = subprocess.run([sys.executable, "-m", "phoenix_rpm.cli", str(project), "--verify"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert f"{project / 'setup.cfg'}:" in last and "needs: unknown backing service 'mongodb'" in last
    assert not (project / "dist").exists()
