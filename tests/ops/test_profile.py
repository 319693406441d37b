"""The workload profile: the project names it, the toolkit falls back to a
generic one, and a broken profile is one line naming the key (exit 2).

The generic workload is also run for real against a local HTTP server: wrk
with generic.lua and the steady client GET the health path only.
"""
from __future__ import annotations

import http.server
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

from phoenix_rpm.errors import UserError
from phoenix_rpm.ops import badinput, client, profile, scenarios

# Local servers and files only: the quick tier (conftest.py).
pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, section: str, files: dict[str, str]) -> Path:
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = svc\n\n" + section)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_apollo_names_its_profile_in_setup_cfg_and_it_carries_apollos_workload():
    apollo = profile.load(ROOT)
    assert apollo.path == ROOT / "ops-profile" / "apollo.py", apollo.path
    assert apollo.wrk_script == ROOT / "ops-profile" / "mix.lua", apollo.wrk_script
    assert apollo.seeds, "apollo's profile seeds items (main crash reads them back)"
    assert apollo.reload is not None and apollo.reload.option == "public_endpoint", apollo.reload
    names = [c.name for c in apollo.bad_input({"id": "x", "name": "y"}, badinput.Limits())]
    assert "truncated JSON" in names and "garbage request line" in names, names


def test_a_project_without_a_profile_gets_the_generic_workload(tmp_path):
    generic = profile.load(_project(tmp_path, "", {}), health="/health")
    assert generic.path is None and not generic.seeds and generic.reload is None, generic
    assert generic.wrk_script == profile.GENERIC_LUA
    table = generic.bad_input({}, badinput.Limits())
    assert table and all(400 <= c.expect < 500 for c in table), table
    assert len({c.name for c in table}) == len(table), "case names are unique"
    assert all(b"/v1/items" not in c.request for c in table), "nothing of apollo's API in the generic table"


def test_pyproject_can_name_the_profile(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.phoenix.ops]\nprofile = "ops/p.py"\n')
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "p.py").write_text('MIX = "all GETs"\n')
    loaded = profile.load(tmp_path)
    assert loaded.path == tmp_path / "ops" / "p.py" and loaded.mix == "all GETs", loaded


@pytest.mark.parametrize("section, files, words", [
    ("[phoenix:ops]\nprofile = ops/missing.py\n", {}, ["[phoenix:ops] profile", "missing.py does not exist"]),
    ("[phoenix:ops]\nprofile = p.py\n", {"p.py": "import no_such_module_here\n"},
     ["[phoenix:ops] profile", "does not import", "ModuleNotFoundError"]),
    ("[phoenix:ops]\nprofile = p.py\n", {"p.py": 'WRK_SCRIPT = "nope.lua"\n'}, ["WRK_SCRIPT", "nope.lua"]),
    ("[phoenix:ops]\nprofile = p.py\n", {"p.py": 'RELOAD = {"option": "x"}\n'}, ["RELOAD", "section"]),
    ("[phoenix:ops]\nprofile = p.py\n", {"p.py": "def seed(request, n, prefix):\n    return {}\n"},
     ["seed() and check()"]),
    ("[phoenix:ops]\nprofile = p.py\n", {"p.py": "bad_input = 3\n"}, ["bad_input is not a function"]),
])
def test_a_broken_profile_is_a_user_error_naming_what_to_fix(tmp_path, section, files, words):
    with pytest.raises(UserError) as caught:
        profile.load(_project(tmp_path, section, files))
    message = str(caught.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_build_rpm_ops_refuses_a_broken_profile_before_building(tmp_path):
    project = _project(tmp_path, "[phoenix:ops]\nprofile = ops/missing.py\n", {})
    proc = subprocess.run([str(ROOT / "tools" / "build-rpm"), "--verify", "--ops", str(project)],
                          text=True, capture_output=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "missing.py does not exist" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "==> build" not in proc.stdout + proc.stderr


class _Health(http.server.BaseHTTPRequestHandler):
    """200 on /health only: the generic workload must ask for nothing else."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        _Health.seen.append(self.path)
        ok = self.path == "/health"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    _Health.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_generic_load_gets_only_the_health_path(health_server):
    script = scenarios.script_for(profile.GENERIC_LUA)
    proc = subprocess.Popen(["wrk", "-t1", "-c2", "-d1s", "-s", str(script), f"http://127.0.0.1:{health_server}",
                             "--", "tok", "/health"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    figures = scenarios.merge_wrk(scenarios.collect_wrk([proc], timeout=30))
    assert figures["requests"] > 0 and figures["non_2xx"] == 0 and figures["errors"] == 0, figures
    assert set(_Health.seen) == {"/health"}, set(_Health.seen)


def test_generic_steady_load_and_seed(health_server):
    figures = client.steady({"host": "127.0.0.1", "ports": [health_server], "threads": 2, "duration": 0.5,
                             "health": "/health"})
    assert figures["ok"] > 0 and figures["failed"] == 0, figures
    assert client.seed({"host": "127.0.0.1", "ports": [health_server], "count": 5}) == {"items": [], "errors": []}
