"""Daemon detection by code, WSGI module apps, generated config, inputs merge, the decisions output.

Small synthetic projects written per test (the corpus tier runs the same
code on real OpenStack sdists): each shape the detection must recognise,
and the ones it must not.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pkgtools import build_rpm, read_unit

from phoenix_rpm import daemons, generate
from phoenix_rpm.plan import ConfigDir

SETUP_CFG = """\
[metadata]
name = demo
summary = Demo service
license = Apache-2.0

[files]
packages = demo

[entry_points]
console_scripts =
{scripts}
"""


def make(root: Path, scripts: dict[str, str], files: dict[str, str], extra: str = "",
         requirements: str = "") -> Path:
    """A pbr project: scripts name -> target, files path -> source text."""
    root.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(f"    {k} = {v}" for k, v in scripts.items())
    (root / "setup.cfg").write_text(SETUP_CFG.format(scripts=lines) + extra)
    (root / "requirements.txt").write_text(requirements)
    for rel, text in {"demo/__init__.py": "", "demo/cmd/__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def decided(project: Path) -> dict[str, tuple[str, str]]:
    plan = generate.load_plan(project)
    out = {s.name: ("service", s.reason) for s in plan.services}
    out.update({t.name: ("tool", t.reason) for t in plan.tools})
    return out


@pytest.fixture(autouse=True)
def _version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")


def test_launchers_are_found_through_the_projects_own_modules(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {
        "demo-evaluator": "demo.cmd.evaluator:main",      # oslo.service via demo.service.serve
        "demo-housekeeping": "demo.cmd.house:main",       # cotyledon subclass + run()
        "demo-scrubber": "demo.cmd.scrub:main",           # dispatch table -> ProcessLauncher
        "demo-relay": "demo.cmd.relay:main",              # serve_forever on a server
        "demo-manage": "demo.cmd.manage:main",            # a tool
        "demo-worker": "demo.cmd.made:main",              # not readable: the name hint
    }, {
        "demo/service.py": """
            from oslo_service import service
            _launcher = None
            def serve(server, workers=None):
                global _launcher
                _launcher = service.launch(None, server, workers=workers)
            def wait():
                _launcher.wait()
        """,
        "demo/cmd/evaluator.py": """
            from demo import service
            def main():
                service.serve(object())
                service.wait()
        """,
        "demo/workers.py": """
            import cotyledon
            class Manager(cotyledon.ServiceManager):
                pass
        """,
        "demo/cmd/house.py": """
            from demo import workers
            def main():
                m = workers.Manager()
                m.run()
        """,
        "demo/cmd/scrub.py": """
            from oslo_service import service as os_service
            def _start():
                os_service.ProcessLauncher(None).wait()
            def _noop():
                pass
            TABLE = {'start': _start, 'noop': _noop}
            def main():
                TABLE['start']()
        """,
        "demo/cmd/relay.py": """
            import socketserver
            def main():
                server = socketserver.TCPServer(('127.0.0.1', 0), None)
                server.serve_forever()
        """,
        "demo/cmd/manage.py": """
            import sys
            from demo import service
            def main():
                print('nothing'); sys.exit(0)
        """,
        "demo/cmd/made.py": "import functools\nfrom demo import service\nmain = functools.partial(service.wait)\n",
    })
    got = decided(project)
    assert got["demo-evaluator"][0] == "service"
    assert "oslo_service.service.launch via demo.service.serve" in got["demo-evaluator"][1]
    assert got["demo-housekeeping"] == ("service", got["demo-housekeeping"][1])
    assert "cotyledon.ServiceManager" in got["demo-housekeeping"][1]
    assert got["demo-scrubber"][0] == "service" and "ProcessLauncher" in got["demo-scrubber"][1]
    assert got["demo-relay"][0] == "service" and "serve_forever" in got["demo-relay"][1]
    assert got["demo-manage"][0] == "tool" and "no service launcher" in got["demo-manage"][1]
    assert got["demo-worker"][0] == "service" and got["demo-worker"][1].startswith("name suffix hint (worker), "
                                                                                   "as the code could not be followed")
    assert "defines no function main" in got["demo-worker"][1]


def test_wsgi_module_runs_under_uwsgi_and_the_dev_server_script_is_a_tool(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {"demo-api": "demo.cmd.api:main", "demo-manage": "demo.cmd.manage:main"}, {
        "demo/cmd/api.py": """
            from wsgiref import simple_server
            def main():
                simple_server.make_server('', 8000, None).serve_forever()
        """,
        "demo/cmd/manage.py": "def main():\n    pass\n",
        "demo/wsgi/__init__.py": "",
        "demo/wsgi/api.py": "def _app(e, s):\n    return []\napplication = _app\n",
        "demo/conf.py": """
            from oslo_config import cfg
            API_OPTS = [cfg.PortOpt('bind_port', default=9123)]
            OTHER = [cfg.PortOpt('port', default=1234)]
        """,
    })
    plan = generate.load_plan(project)
    api = next(s for s in plan.services if s.uwsgi)
    assert api.name == "demo-api" and api.bind == "0.0.0.0:9123" and "demo/conf.py" in api.bind_source
    assert [t.name for t in plan.tools if t.name == "demo-api"] == ["demo-api"]
    assert "pyuwsgi" in plan.requirements
    generate.write(project)
    unit = read_unit(project / "systemd" / "demo-api.service")["Service"]
    assert unit["Type"] == ["notify"] and unit["KillSignal"] == ["SIGQUIT"]
    assert unit["ExecStart"] == ["/usr/lib/demo/bin/uwsgi --ini /etc/demo/demo-api-uwsgi.ini"]
    ini = (project / "systemd" / "demo-api-uwsgi.ini").read_text()
    assert "module = demo.wsgi.api:application\n" in ini and "master = true\n" in ini


def test_without_a_wsgi_app_the_dev_server_is_the_service(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {"demo-web": "demo.cmd.web:main"}, {
        "demo/cmd/web.py": "from werkzeug import serving\ndef main():\n    serving.run_simple('', 1, None)\n",
    })
    assert decided(project)["demo-web"][0] == "service"


def test_overrides_win_over_the_code(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {"demo-relay": "demo.cmd.relay:main", "demo-once": "demo.cmd.once:main"}, {
        "demo/cmd/relay.py": "def main():\n    x = object()\n    x.serve_forever()\n",
        "demo/cmd/once.py": "def main():\n    pass\n",
    }, extra="\n[phoenix:rpm]\ntools = demo-relay\n")
    got = decided(project)
    assert got["demo-relay"][0] == "tool" and "tools lists it" in got["demo-relay"][1]


def test_generated_config_and_drop_in_dir(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {"demo-engine": "demo.cmd.engine:main"}, {
        "demo/cmd/engine.py": "from oslo_service import service\ndef main():\n    service.launch(None, None)\n",
        "etc/demo/demo-config-generator.conf": "[DEFAULT]\noutput_file = etc/demo/demo.conf.sample\n"
                                               "namespace = demo\n",
    }, extra="oslo.policy.policies =\n    demo = demo.policies:list_rules\n", requirements="oslo.config\n")
    plan = generate.load_plan(project)
    assert [(g.generator.kind, g.dest) for g in plan.generated_config] == [("config", "/etc/demo/demo.conf"),
                                                               ("policy", "/etc/demo/policy.yaml")]
    assert plan.conf_d == "/etc/demo/demo.conf.d"
    assert ConfigDir("/etc/demo/demo.conf.d", "0750", "root", "demo") in plan.config_dirs
    engine = plan.services[0]
    assert engine.exec_start.endswith("--config-file /etc/demo/demo.conf --config-dir /etc/demo/demo.conf.d")
    spec = generate.render_plan(plan)["rpm/demo.spec"]
    assert "from oslo_config import cfg, generator" in spec and "oslo_policy.generator" in spec
    assert "%config(noreplace) %attr(0640, root, demo) %{_sysconfdir}/demo/demo.conf\n" in spec


def test_stub_setup_cfg_never_hides_the_pyproject(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {}, {"demo/cmd/engine.py": "import cotyledon\ndef main():\n"
                                        "    cotyledon.ServiceManager().run()\n"})
    (project / "setup.cfg").write_text("[metadata]\nname = demo\n\n[egg_info]\ntag_build =\ntag_date = 0\n")
    (project / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["pbr>=6.1.1"]
        build-backend = "pbr.build"
        [project]
        name = "demo"
        description = "Demo from pyproject"
        dynamic = ["version", "dependencies"]
        [project.entry-points."console_scripts"]
        demo-engine = "demo.cmd.engine:main"
        [project.entry-points."oslo.config.opts"]
        demo = "demo.opts:list_opts"
        """))
    plan = generate.load_plan(project)
    assert plan.summary == "Demo from pyproject" and plan.merged_from.startswith("pyproject.toml [project]")
    assert [s.name for s in plan.services] == ["demo-engine"]
    assert [g.dest for g in plan.generated_config] == ["/etc/demo/demo.conf"]  # from oslo.config.opts


def test_setup_cfg_groups_merge_into_the_pyproject(tmp_path: Path) -> None:
    """A group pyproject.toml declares is its own; setup.cfg adds the groups and files it does not."""
    project = make(tmp_path / "p", {"demo-old": "demo.cmd.tool:main"}, {
        "demo/cmd/tool.py": "def main():\n    pass\n", "etc/demo/demo.conf": "[DEFAULT]\n"},
        extra="oslo.config.opts =\n    demo = demo.opts:list_opts\n")
    cfg = project / "setup.cfg"
    cfg.write_text(cfg.read_text().replace("[entry_points]", "data_files =\n    etc/demo = etc/demo/demo.conf\n\n"
                                           "[entry_points]"))
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "2.0.0"\n'
                                            '[project.scripts]\ndemo-tool = "demo.cmd.tool:main"\n')
    plan = generate.load_plan(project)
    assert [t.name for t in plan.tools] == ["demo-tool"]  # pyproject's console_scripts win
    assert plan.config_files == ["/etc/demo/demo.conf"]  # setup.cfg [files] data_files
    assert "setup.cfg [files] data_files, [entry_points]" in plan.merged_from


def test_decisions_printed_as_table_and_json(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {"demo-relay": "demo.cmd.relay:main"}, {
        "demo/cmd/relay.py": "def main():\n    x = object()\n    x.serve_forever()\n"})
    table = build_rpm("--stage", "generate", project, env={"PBR_VERSION": "1.0.0"})
    assert table.returncode == 0, table.stderr
    assert "demo-relay" in table.stdout and "serve_forever" in table.stdout and "python(abi) = 3.11" in table.stdout
    js = build_rpm("--stage", "generate", "--format", "json", project, env={"PBR_VERSION": "1.0.0"})
    data = json.loads(js.stdout)
    entry = next(e for e in data["entry_points"] if e["entry_point"] == "demo-relay")
    assert entry["decision"] == "service" and entry["unit"] == "demo-relay.service" and entry["reason"]
    assert data["install_mode"] == "bundled" and data["python"] == "python(abi) = 3.11"


def test_exposes_application_reads_assignments_only(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("application = make()\n")
    (tmp_path / "b.py").write_text("def make():\n    application = 1\n    return application\n")
    assert daemons.exposes_application(tmp_path / "a.py")
    assert not daemons.exposes_application(tmp_path / "b.py")


def test_long_running_shapes_and_their_look_alikes(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {
        "demo-scrub": "demo.cmd.scrub:main",      # Daemon().start(); .wait()
        "demo-pause": "demo.cmd.pause:main",      # signal.pause()
        "demo-house": "demo.cmd.house:main",      # while True, no way out
        "demo-run": "demo.cmd.run:main",          # Popen().wait(): a tool
        "demo-poll": "demo.cmd.poll:main",        # while True with a break: a tool
    }, {
        "demo/scrubber.py": "class Daemon:\n    def start(self):\n        pass\n    def wait(self):\n        pass\n",
        "demo/cmd/scrub.py": """
            from demo import scrubber
            def main():
                server = scrubber.Daemon()
                server.start()
                server.wait()
        """,
        "demo/cmd/pause.py": "import signal\ndef main():\n    signal.pause()\n",
        "demo/cmd/house.py": """
            import time
            def main():
                while True:
                    for x in range(3):
                        if x:
                            break
                    time.sleep(5)
        """,
        "demo/cmd/run.py": "import subprocess\ndef main():\n    p = subprocess.Popen(['true'])\n    p.wait()\n",
        "demo/cmd/poll.py": "def main():\n    while True:\n        if input():\n            break\n",
    })
    got = decided(project)
    assert got["demo-scrub"][0] == "service" and "Daemon" in got["demo-scrub"][1]
    assert got["demo-pause"][0] == "service" and "signal.pause" in got["demo-pause"][1]
    assert got["demo-house"][0] == "service" and "loops forever" in got["demo-house"][1]
    assert got["demo-run"][0] == "tool", got["demo-run"]
    assert got["demo-poll"][0] == "tool", got["demo-poll"]


# Processes and threads (docs/packaging.md "Decisions"): neutral names, so
# that no name hint can be what makes them services.
WORKER_SHAPES = {
    # a process list, a SIGTERM handler, then join: the supervisor shape
    "demo/cmd/pulse.py": """
        import multiprocessing
        import signal
        from demo import beats
        ctx = multiprocessing.get_context("spawn")
        def main():
            stop = ctx.Event()
            procs = []
            for name in ("a", "b"):
                procs.append(ctx.Process(name=name, target=beats.beat, args=(stop,)))
            for p in procs:
                p.start()
            def _cleanup(signum, frame):
                stop.set()
            signal.signal(signal.SIGTERM, _cleanup)
            for p in procs:
                p.join()
    """,
    "demo/beats.py": """
        import time
        def beat(stop):
            while True:
                if stop.is_set():
                    break
                time.sleep(1)
    """,
    # threads whose targets run until a stop event, joined; no handler
    "demo/cmd/tidy.py": """
        import threading
        STOP = threading.Event()
        def _sweep():
            while not STOP.is_set():
                STOP.wait(60)
        def _rotate():
            while not STOP.wait(30):
                pass
        def main():
            threads = [threading.Thread(target=_sweep), threading.Thread(target=_rotate)]
            [t.start() for t in threads]
            for t in threads:
                t.join()
    """,
    # a handler installed by a helper, then an untimed wait on an Event
    "demo/cmd/hold.py": """
        import signal
        import threading
        from demo import signals
        def main():
            done = threading.Event()
            threading.Thread(target=print, daemon=True).start()
            signals.install(lambda *a: done.set())
            done.wait()
    """,
    "demo/signals.py": """
        import signal
        def install(handler):
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, handler)
    """,
    # a project Thread subclass whose run() loops forever
    "demo/cmd/pump.py": """
        import threading
        import time
        class Pump(threading.Thread):
            def run(self):
                while True:
                    time.sleep(1)
        def main():
            pumps = [Pump() for _ in range(3)]
            for p in pumps:
                p.start()
            for p in pumps:
                p.join()
    """,
    # look-alikes that end: a parallel batch job, a timed wait, a reset handler
    "demo/cmd/batch.py": """
        import threading
        def _chunk(rows):
            for row in rows:
                print(row)
        def main():
            workers = [threading.Thread(target=_chunk, args=([i],)) for i in range(4)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
    """,
    "demo/cmd/brief.py": """
        import signal
        import threading
        def main():
            signal.signal(signal.SIGTERM, lambda *a: None)
            threading.Event().wait(timeout=5)
    """,
    "demo/cmd/reset.py": """
        import signal
        import threading
        def main():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            ev = threading.Event()
            ev.wait()
    """,
}


def test_processes_and_threads_started_and_joined_are_daemons(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {
        "demo-pulse": "demo.cmd.pulse:main", "demo-tidy": "demo.cmd.tidy:main", "demo-hold": "demo.cmd.hold:main",
        "demo-pump": "demo.cmd.pump:main", "demo-batch": "demo.cmd.batch:main", "demo-brief": "demo.cmd.brief:main",
        "demo-reset": "demo.cmd.reset:main",
    }, WORKER_SHAPES)
    got = decided(project)
    assert got["demo-pulse"] == ("service", "installs a SIGTERM handler, starts processes and joins them "
                                            "(pulse.py:17)"), got["demo-pulse"]
    assert got["demo-tidy"][0] == "service", got["demo-tidy"]
    assert got["demo-tidy"][1].startswith("starts 2 threads and joins them; demo.cmd.tidy._sweep loops until a "
                                          "stop event is set"), got["demo-tidy"]
    assert got["demo-hold"] == ("service", "installs a SIGTERM handler and waits on an Event until it is set "
                                           "(hold.py:9)"), got["demo-hold"]
    assert got["demo-pump"][0] == "service" and "starts threads and joins them; demo.cmd.pump.Pump.run loops " \
        "forever" in got["demo-pump"][1], got["demo-pump"]
    for one_shot in ("demo-batch", "demo-brief", "demo-reset"):
        assert got[one_shot][0] == "tool", got[one_shot]
        assert got[one_shot][1].startswith("ends: no service launcher reached"), got[one_shot]


def test_the_shapes_are_found_through_the_projects_own_calls(tmp_path: Path) -> None:
    """main() -> the project's run() that starts and joins: followed like the launchers are."""
    project = make(tmp_path / "p", {"demo-pulse": "demo.cmd.entry:main"}, {
        **WORKER_SHAPES,
        "demo/cmd/entry.py": "from demo.cmd import pulse\ndef main():\n    pulse.main()\n",
    })
    got = decided(project)["demo-pulse"]
    assert got == ("service", "installs a SIGTERM handler, starts processes and joins them via "
                              "demo.cmd.pulse.main (pulse.py:17)"), got


def test_a_name_hint_never_makes_a_one_shot_job_a_service(tmp_path: Path) -> None:
    """Read to its end: a tool whatever its name. Not followed: the hint decides, and the reason says so."""
    project = make(tmp_path / "p", {
        "demo-expirer": "demo.cmd.expire:main",       # deletes once, exits
        "demo-housekeeping": "demo.cmd.batch:main",   # a parallel batch job
        "demo-worker": "demo.cmd.plugged:main",       # an untyped object whose method may serve
        "demo-runner": "demo.cmd.plugged:main",       # the same code, no hint: a tool
        "demo-proxy": "wsproxylib.cmd:main",          # a dependency's function
        "demo-agent": "demo.cmd.spawn:main",          # replaces itself with another program
    }, {
        **WORKER_SHAPES,
        "demo/storage.py": """
            class Connection:
                def purge_expired(self, days):
                    deleted = 1
                    while deleted:
                        deleted = self._delete_batch(days)
                    return deleted
                def _delete_batch(self, days):
                    return 0
            def get_connection(url):
                return Connection()
        """,
        "demo/cmd/expire.py": """
            from demo import storage
            def main():
                conn = storage.get_connection('sqlite://')
                conn.purge_expired(30)
        """,
        "demo/drivers/__init__.py": "",
        "demo/drivers/http.py": """
            import socketserver
            class Driver:
                def listen(self):
                    socketserver.TCPServer(('', 0), None).serve_forever()
        """,
        "demo/cmd/plugged.py": """
            from stevedore import driver
            class Boot:
                def __init__(self):
                    self.transport = driver.DriverManager('demo.transport', 'http').driver
                def go(self):
                    self.transport.listen()
            def main():
                Boot().go()
        """,
        "demo/cmd/spawn.py": "import os\ndef main():\n    os.execvp('sleep', ['sleep', 'infinity'])\n",
    })
    got = decided(project)
    assert got["demo-expirer"] == ("tool", "ends: no service launcher reached from demo.cmd.expire:main (4 functions "
                                           "of the project read to the end); a one-shot job, so the name suffix "
                                           "hint (expirer) does not make it a service"), got["demo-expirer"]
    assert got["demo-housekeeping"][0] == "tool" and "hint (housekeeping) does not" in got["demo-housekeeping"][1]
    worker = got["demo-worker"]
    assert worker[0] == "service", worker
    assert worker[1].startswith("name suffix hint (worker), as the code could not be followed: not followed to its "
                                "end from demo.cmd.plugged:main: self.transport.listen() is called on an object "
                                "whose class the analyzer cannot tell, and demo.drivers.http.Driver.listen calls "
                                "a server's serve_forever()"), worker
    assert got["demo-runner"][0] == "tool" and got["demo-runner"][1].startswith("not followed to its end")
    assert got["demo-proxy"] == ("service", "name suffix hint (proxy), as the code could not be followed: runs "
                                            "wsproxylib.cmd:main of a dependency, not this project's code")
    assert got["demo-agent"][0] == "service" and "runs another program (os.execvp)" in got["demo-agent"][1]


def test_evidence_kinds(tmp_path: Path) -> None:
    """The analyzer's four answers, directly."""
    make(tmp_path / "p", {}, {
        "demo/cmd/once.py": "def main():\n    print('done')\n",
        "demo/cmd/made.py": "main = print\n",
        "demo/cmd/deep.py": "".join(f"def f{i}():\n    f{i + 1}()\n" for i in range(14)) + "def f14():\n    pass\n",
        "demo/cmd/relay.py": "import socketserver\ndef main():\n    socketserver.TCPServer(('', 0), None)"
                             ".serve_forever()\n",
    })
    analyzer = daemons.project_analyzer(tmp_path / "p", "", ["demo"])
    assert analyzer.evidence("demo.cmd.once", "main").kind == "ends"
    assert analyzer.evidence("demo.cmd.relay", "main").kind == "launcher"
    for module, func in (("demo.cmd.made", "main"), ("demo.cmd.gone", "main"), ("wsproxylib.cmd", "main")):
        assert analyzer.evidence(module, func).kind == "unknown", (module, func)
    deep = analyzer.evidence("demo.cmd.deep", "f0")  # deeper than the proof reads: not known to end
    assert deep.kind == "unknown" and f"deeper than {daemons.PROOF_DEPTH} levels" in deep.reason, deep


def test_the_hermes_fixture_is_a_daemon_by_its_code(tmp_path: Path) -> None:
    """tests/data/hermes: a listener thread, a SIGTERM handler, then Event().wait(), as verify runs it for real."""
    hermes = Path(__file__).resolve().parents[1] / "data" / "hermes"
    got = decided(hermes)
    assert got["hermes-api"][0] == "service"
    assert got["hermes-api"][1].startswith("installs a SIGTERM handler and waits on an Event"), got["hermes-api"]


def test_hostile_chains_end_in_a_decision_not_a_traceback(tmp_path: Path) -> None:
    """Thread targets that start threads, 400 deep; a class its own base; a call chain past every limit."""
    chain = "import threading\n" + "".join(
        f"def t{i}():\n    w = threading.Thread(target=t{i + 1})\n    w.start()\n    w.join()\n" for i in range(400)
    ) + "def t400():\n    while True:\n        pass\n"
    calls = "".join(f"def c{i}(x):\n    x.go{i}()\n    c{i + 1}(x)\n" for i in range(600)) + "def c600(x):\n    pass\n"
    project = make(tmp_path / "p", {
        "demo-chain": "demo.cmd.chain:t0", "demo-loop": "demo.cmd.loop:main", "demo-calls": "demo.cmd.calls:c0",
    }, {
        "demo/cmd/chain.py": chain,
        "demo/cmd/loop.py": "class A(A):\n    pass\ndef main():\n    A().run()\n",
        "demo/cmd/calls.py": calls,
    })
    got = decided(project)
    assert got["demo-chain"][0] == "tool" and got["demo-chain"][1].startswith("not followed to its end"), got
    assert got["demo-loop"][0] == "tool", got
    assert got["demo-calls"][0] == "tool" and got["demo-calls"][1].startswith("not followed to its end"), got


def test_unseen_service_shapes(tmp_path: Path) -> None:
    """Shapes found on real services the corpus does not hold (docs/corpus.md "Unseen-service probe").

    websockify console proxies (a project subclass, or websockify's own class,
    then ``start_server()``); a project function handed to another one that
    runs it (``boot_server(rpc.rpc_server)``); os-ken's ``AppManager.run_apps``;
    Paste's development server (a tool next to a WSGI app); oslo.rootwrap's
    daemon and command named as the project's own scripts (tools, whatever
    their name says).
    """
    project = make(tmp_path / "p", {
        "demo-novncproxy": "demo.cmd.novnc:main",
        "demo-wsproxy": "demo.cmd.plainws:main",
        "demo-rpc-server": "demo.cmd.server:main_rpc",
        "demo-sync": "demo.cmd.server:main_once",
        "demo-ofagent": "demo.cmd.of:main",
        "demo-devapi": "demo.cmd.devapi:main",
        "demo-rootwrap-daemon": "oslo_rootwrap.cmd:daemon",
        "demo-rootwrap": "oslo_rootwrap.cmd:main",
    }, {
        "demo/console.py": """
            import websockify
            class DemoProxy(websockify.WebSocketProxy):
                def new_websocket_client(self):
                    pass
        """,
        "demo/cmd/novnc.py": """
            from demo import console
            def main():
                console.DemoProxy(listen_host='0.0.0.0', listen_port=6080).start_server()
        """,
        "demo/cmd/plainws.py": """
            from websockify import websocketproxy
            def main():
                proxy = websocketproxy.WebSocketProxy(listen_port=6081)
                proxy.start_server()
        """,
        "demo/launch.py": """
            from oslo_service import service
            def start_workers():
                launcher = service.ProcessLauncher(None)
                return launcher
        """,
        "demo/boot.py": """
            def boot_server(server_func):
                try:
                    server_func()
                except KeyboardInterrupt:
                    pass
        """,
        "demo/rpc.py": """
            from demo import launch
            def rpc_server():
                launch.start_workers().wait()
            def sync_once():
                print('synced')
        """,
        "demo/cmd/server.py": """
            from demo import boot
            from demo import rpc
            def main_rpc():
                boot.boot_server(rpc.rpc_server)
            def main_once():
                boot.boot_server(rpc.sync_once)
        """,
        "demo/cmd/of.py": """
            from os_ken.base import app_manager
            def main():
                app_manager.AppManager.run_apps(['demo.ofapp'])
        """,
        "demo/cmd/devapi.py": """
            from paste import httpserver
            def main():
                httpserver.serve(application=None, host='0.0.0.0', port=9090)
        """,
        "demo/wsgi.py": "application = None\n",
    })
    got = decided(project)
    assert got["demo-novncproxy"] == ("service", "runs a websockify proxy server (DemoProxy.start_server inherited "
                                                 "from websockify.WebSocketProxy) (novnc.py:4)"), got
    assert got["demo-wsproxy"][0] == "service" and "websockify" in got["demo-wsproxy"][1], got
    assert got["demo-rpc-server"][0] == "service", got
    assert "oslo_service.service.ProcessLauncher via demo.rpc.rpc_server" in got["demo-rpc-server"][1], got
    assert got["demo-sync"][0] == "tool" and got["demo-sync"][1].startswith("ends:"), got
    assert got["demo-ofagent"][0] == "service" and "os-ken" in got["demo-ofagent"][1], got
    assert got["demo-devapi"][0] == "tool" and "Paste's development server" in got["demo-devapi"][1], got
    for name in ("demo-rootwrap-daemon", "demo-rootwrap"):
        assert got[name][0] == "tool" and "oslo.rootwrap" in got[name][1], got


def test_a_stale_tool_entry_point_is_packaged_and_said_so(tmp_path: Path) -> None:
    """A released sdist's console script whose module was removed (blazar's ``-rpc-zmq-receiver``):
    a tool, packaged as pip installs it, the reason says it fails when run; a service's stays an error."""
    project = make(tmp_path / "p", {"demo-manage": "demo.cmd.manage:main", "demo-zmq-receiver": "demo.cmd.gone:main",
                                    "demo-old": "demo.cmd.manage:removed"},
                   {"demo/cmd/manage.py": "def main():\n    pass\n"})
    got = decided(project)
    assert got["demo-zmq-receiver"] == ("tool", "demo.cmd.gone:main is not in the project: pip installs the "
                                                "script, which fails when run (a stale entry point: fix or remove it)")
    assert got["demo-old"][0] == "tool" and "is not in the project" in got["demo-old"][1]
    assert got["demo-manage"][0] == "tool" and got["demo-manage"][1].startswith("ends:")
    # named a service: its unit would fail at every start, so it is still the user's error
    refused = make(tmp_path / "q", {"demo-zmq-receiver": "demo.cmd.gone:main"}, {},
                   extra="\n[phoenix:rpm]\nservices = demo-zmq-receiver\n")
    proc = build_rpm("--stage", "generate", str(refused))
    assert proc.returncode == 2 and "module 'demo.cmd.gone' not found" in proc.stderr, proc.stderr


def test_aliases_handed_classes_and_loops_left_by_an_exception(tmp_path: Path) -> None:
    """kuryr's ``start = service.start`` entry points; swift's ``run_daemon(ObjectAuditor, conf)``
    (a project class handed to a project function that instantiates it and runs it: its ``run``
    is inherited from the project's ``Daemon``); swift's ``while True:`` reading xattr keys until
    ``IOError`` (a loop an exception leaves: the info tool stays a tool), against a daemon's
    ``try: while True: ... except KeyboardInterrupt:``."""
    project = make(tmp_path / "p", {
        "demo-controller": "demo.cmd.controller:start",
        "demo-auditor": "demo.cmd.auditor:main",
        "demo-info": "demo.cmd.info:main",
        "demo-poller": "demo.cmd.poller:main",
        "demo-check": "demo.cmd.check:main",
    }, {
        "demo/service.py": """
            from oslo_service import service
            def start():
                service.launch(None, None).wait()
        """,
        "demo/cmd/controller.py": "from demo import service\nstart = service.start\n",
        "demo/daemon.py": """
            class Daemon(object):
                def run(self, once=False):
                    if once:
                        self.run_once()
                    else:
                        self.run_forever()
            class Strategy(object):
                def __init__(self, daemon):
                    self.daemon = daemon
                def run(self):
                    self.daemon.run()
            def run_daemon(klass, conf):
                return Strategy(klass(conf)).run()
        """,
        "demo/auditor.py": """
            from demo.daemon import Daemon
            class Auditor(Daemon):
                def run_forever(self):
                    pass
        """,
        "demo/cmd/auditor.py": """
            from demo.auditor import Auditor
            from demo.daemon import run_daemon
            def main():
                run_daemon(Auditor, '/etc/demo/auditor.conf')
        """,
        "demo/cmd/check.py": """
            from demo.auditor import Auditor
            def describe(klass):
                return klass.__name__
            def main():
                print(describe(Auditor))
        """,
        "demo/cmd/info.py": """
            import errno
            def read_keys(fd):
                data, key = b'', 0
                try:
                    while True:
                        data += fd.get(key)
                        key += 1
                except (IOError, OSError) as e:
                    if e.errno == errno.ENOENT:
                        raise
                return data
            def main():
                print(read_keys({}))
        """,
        "demo/cmd/poller.py": """
            import time
            def main():
                try:
                    while True:
                        time.sleep(10)
                except KeyboardInterrupt:
                    pass
        """,
    })
    got = decided(project)
    assert got["demo-controller"] == ("service", "calls oslo_service.service.launch (service.py:4)"), got
    assert got["demo-auditor"][0] == "service", got
    assert "run_forever() via demo.daemon.Daemon.run" in got["demo-auditor"][1], got
    assert got["demo-info"][0] == "tool" and got["demo-info"][1].startswith("ends:"), got
    assert got["demo-poller"][0] == "service" and "loops forever" in got["demo-poller"][1], got
    # a class handed to a function that only reads its name: its run() is not reached through that
    assert got["demo-check"][0] == "tool", got


def test_setuptools_declarative_setup_cfg(tmp_path: Path) -> None:
    """gnocchi's shape: no pbr keys, setuptools' ``[options] packages/install_requires/scripts``
    and ``[options.entry_points]`` (console scripts and oslo.config.opts): read the same way."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "setup.cfg").write_text(textwrap.dedent("""\
        [metadata]
        name = demo
        description = Metric service

        [options]
        packages =
            demo
        scripts =
            bin/demo-api
        install_requires =
            oslo.config>=3.22.0
            cotyledon>=1.5.0
            importlib_metadata>=3.6; python_version<"3.10"

        [options.entry_points]
        console_scripts =
            demo-metricd = demo.cli.metricd:metricd
            demo-upgrade = demo.cli.manage:upgrade
        oslo.config.opts =
            demo = demo.opts:list_opts
        """))
    for rel, text in {"demo/__init__.py": "", "demo/cli/__init__.py": "", "bin/demo-api": "#!/usr/bin/python3\n",
                      "demo/opts.py": "def list_opts():\n    return []\n",
                      "demo/cli/manage.py": "def upgrade():\n    print('upgraded')\n",
                      "demo/cli/metricd.py": "import cotyledon\ndef metricd():\n    sm = cotyledon.ServiceManager()\n"
                                             "    sm.run()\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    plan = generate.load_plan(root)
    assert [s.name for s in plan.services] == ["demo-metricd"], plan.services
    assert sorted(t.name for t in plan.tools) == ["demo-api", "demo-upgrade"]
    assert plan.requirements[:2] == ("oslo.config>=3.22.0", "cotyledon>=1.5.0"), plan.requirements
    assert plan.main_config == "/etc/demo/demo.conf" and plan.generated_config, plan.generated_config
    # pbr's keys win where both are written
    text = (root / "setup.cfg").read_text()
    pbr = "\n[entry_points]\nconsole_scripts =\n    demo-upgrade = demo.cli.manage:upgrade\n"
    (root / "setup.cfg").write_text(text + pbr)
    assert [t.name for t in generate.load_plan(root).tools] == ["demo-upgrade", "demo-api"]
