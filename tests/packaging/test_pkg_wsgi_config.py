"""WSGI applications' ports, mod_wsgi files, and where the config lives (issue 12, items 3 and 4).

Small synthetic projects written per test, each a shape found in real
services: a port option declared outside the application's module or
prefixed with the project's name, an API exposed only as a ``*.wsgi`` file,
a config generator whose output is named after one service while the code
reads ``/etc/<project>/``. System mode's uWSGI (the distribution's server
and python3 plugin) is checked here too; the fixture ``tests/data/wsgi-file``
has the same shapes in the golden files and in a booted box
(tests/verify/test_uwsgi_app.py).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from phoenix_rpm import generate, speccontext, wsgiapps
from phoenix_rpm.errors import UserError
from phoenix_rpm.plan import Service, SpecPlan

SETUP_CFG = """\
[metadata]
name = {name}
summary = Demo service
license = Apache-2.0

[files]
packages = demo
{files}
[entry_points]
console_scripts =
{scripts}
"""


def make(root: Path, files: dict[str, str], *, name: str = "demo", scripts: dict[str, str] | None = None,
         files_section: str = "", extra: str = "") -> Path:
    """A pbr project: ``files`` path -> source text (dedented)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(f"    {k} = {v}" for k, v in (scripts or {"demo-manage": "demo.cmd.manage:main"}).items())
    (root / "setup.cfg").write_text(SETUP_CFG.format(name=name, files=files_section, scripts=lines) + extra)
    (root / "requirements.txt").write_text("oslo.config\n")
    base = {"demo/__init__.py": "", "demo/cmd/__init__.py": "", "demo/cmd/manage.py": "def main():\n    pass\n"}
    for rel, text in {**base, **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


API_MODULE = {"demo/wsgi/__init__.py": "", "demo/wsgi/api.py": "application = object()\n"}


@pytest.fixture(autouse=True)
def _version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")


def _app(plan: SpecPlan, name: str) -> Service:
    return next(s for s in plan.services if s.uwsgi and s.name == name)


# -- ports -------------------------------------------------------------------------------------------------


def test_a_lone_apps_port_is_the_bind_port_declared_in_another_module(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {**API_MODULE, "demo/common/cfg.py": """
        from oslo_config import cfg
        common_opts = [
            cfg.PortOpt('mongodb_port', default=27017),
            cfg.PortOpt('pydev_debug_port', default=5678),
            cfg.PortOpt('bind_port', default=8779),
        ]
    """})
    api = _app(generate.load_plan(project), "demo-api")
    assert api.bind == "0.0.0.0:8779"
    assert api.bind_source.startswith("demo/common/cfg.py:6 bind_port default")
    assert "only WSGI application" in api.bind_source  # the decision says why a score-0 option was taken


def test_a_project_prefixed_listen_port_names_the_api(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {**API_MODULE, "demo/conf/service.py": """
        from oslo_config import cfg
        service_opts = [
            cfg.IntOpt('demo_api_workers', default=2),
            cfg.IntOpt('demo_api_listen_port', default=15868, min=1, max=65535),
        ]
    """})
    api = _app(generate.load_plan(project), "demo-api")
    assert api.bind == "0.0.0.0:15868" and "demo_api_listen_port default" in api.bind_source


def test_a_clients_port_is_never_the_apps_and_two_apps_need_their_own_names(tmp_path: Path) -> None:
    db = {"demo/db/options.py": "from oslo_config import cfg\ndatabase_opts = [cfg.PortOpt('port', default=3306)]\n"}
    api = _app(generate.load_plan(make(tmp_path / "one", {**API_MODULE, **db})), "demo-api")
    assert api.bind_source.startswith("fallback: no port default"), api.bind_source
    assert 8700 <= int(api.bind.rsplit(":", 1)[1]) < 8900
    # two applications: a bind_port named for neither is not guessed for one of them
    two = make(tmp_path / "two", {**API_MODULE, "demo/wsgi/cfn.py": "application = object()\n",
                                  "demo/common/cfg.py": "from oslo_config import cfg\n"
                                                        "common_opts = [cfg.PortOpt('bind_port', default=8779)]\n"})
    plan = generate.load_plan(two)
    assert [_app(plan, n).bind_source.startswith("fallback") for n in ("demo-api", "demo-cfn")] == [True, True]


def test_a_drivers_api_port_is_not_the_services_listen_port(tmp_path: Path) -> None:
    """cinder/manila's shape: a backend driver's ``*_api_port`` (an appliance's API) against the
    service's own ``osapi_<x>_listen_port`` (``osapi`` counts as api)."""
    project = make(tmp_path / "p", {**API_MODULE, "demo/volume/drivers/__init__.py": "",
                                    "demo/volume/drivers/appliance.py": """
        from oslo_config import cfg
        appliance_opts = [cfg.PortOpt('appliance_api_port', default=3033)]
    """, "demo/service.py": """
        from oslo_config import cfg
        service_opts = [
            cfg.StrOpt('osapi_demo_listen', default='0.0.0.0'),
            cfg.PortOpt('osapi_demo_listen_port', default=8776),
        ]
    """})
    api = _app(generate.load_plan(project), "demo-api")
    assert api.bind == "0.0.0.0:8776" and "osapi_demo_listen_port default" in api.bind_source, api.bind_source


def test_a_dashed_option_name_is_a_port_option(tmp_path: Path) -> None:
    """``cfg.PortOpt('bind-port', dest='bind_port')`` (freezer-api's shape)."""
    project = make(tmp_path / "p", {**API_MODULE, "demo/common/config.py": """
        from oslo_config import cfg
        def api_common_opts():
            return [cfg.PortOpt('bind-port', default=9090, dest='bind_port')]
        _COMMON = [cfg.PortOpt('bind-port', default=9090, dest='bind_port')]
    """})
    api = _app(generate.load_plan(project), "demo-api")
    assert api.bind == "0.0.0.0:9090" and "bind_port default" in api.bind_source, api.bind_source


def test_a_plugins_port_loses_to_the_projects_own_uwsgi_config(tmp_path: Path) -> None:
    """barbican's shape: the only ``port`` option is a key manager plugin's (its server's
    port); the project's shipped uWSGI vassal says where the API listens."""
    plugin = {"demo/plugin/__init__.py": "", "demo/plugin/kms_store.py": """
        from oslo_config import cfg
        kms_opts = [cfg.PortOpt('port', default=5696)]
    """}
    project = make(tmp_path / "p", {**API_MODULE, **plugin,
                                    "etc/demo/vassals/demo-api.ini": "[uwsgi]\nsocket = :9311\nprotocol = http\n"})
    api = _app(generate.load_plan(project), "demo-api")
    assert api.bind == "0.0.0.0:9311", api.bind_source
    assert api.bind_source == "etc/demo/vassals/demo-api.ini [uwsgi] socket (the project's uWSGI config)"
    # without it: the fallback, said so (the plugin's port is never taken)
    bare = _app(generate.load_plan(make(tmp_path / "q", {**API_MODULE, **plugin})), "demo-api")
    assert bare.bind_source.startswith("fallback"), bare.bind_source


def test_deployment_files_a_loopback_uwsgi_socket_and_devstack(tmp_path: Path) -> None:
    """A uWSGI ini on 127.0.0.1 sits behind a web server (not the API's port); the devstack
    plugin's ``<NAME>_SERVICE_PORT`` default is; another program's variable is not; the
    toolkit's own generated inis never count."""
    files = {**API_MODULE,
             "httpd/demo-uwsgi.ini": "[uwsgi]\nhttp-socket = 127.0.0.1:61999\nwsgi-file = /usr/bin/demo-api\n",
             "systemd/demo-api-uwsgi.ini": "# Generated by tools/build-rpm --stage generate\n[uwsgi]\n"
                                          "http-socket = 0.0.0.0:8801\n",
             "devstack/settings": "DOCKER_REMOTE_API_PORT=2375\nDEMO_SERVICE_PORT=${DEMO_SERVICE_PORT:-8786}\n"
                                  "DEMO_SERVICE_PORT_INT=${DEMO_SERVICE_PORT_INT:-18786}\n"}
    api = _app(generate.load_plan(make(tmp_path / "p", files)), "demo-api")
    assert api.bind == "0.0.0.0:8786", api.bind_source
    assert api.bind_source == "devstack/settings:2 DEMO_SERVICE_PORT (the project's devstack plugin)"
    # a declared option still comes first
    opt = {"demo/conf/api.py": "from oslo_config import cfg\napi_opts = [cfg.PortOpt('port', default=9517)]\n"}
    first = _app(generate.load_plan(make(tmp_path / "q", {**files, **opt})), "demo-api")
    assert first.bind == "0.0.0.0:9517", first.bind_source


def test_a_package_wsgi_module_is_the_api(tmp_path: Path) -> None:
    """``<package>/wsgi.py`` assigning ``application`` (freezer-api's shape) is a uWSGI unit."""
    project = make(tmp_path / "p", {"demo/wsgi.py": "import threading\napplication = None\n"
                                                    "with threading.Lock():\n    application = object()\n"})
    plan = generate.load_plan(project)
    api = _app(plan, "demo-api")
    assert api.wsgi_module == "demo.wsgi" and "demo/wsgi.py assigns 'application'" in api.reason, api
    assert plan.user == "demo"


def test_port_option_names() -> None:
    match = [n for n in ("port", "bind_port", "api_port", "listen_port", "demo_api_listen_port", "wsgi_port",
                         "listen", "bind", "mongodb_port", "pydev_debug_port", "transport", "port_range", "ports")
             if wsgiapps.PORT_NAMES.search(n)]
    assert match == ["port", "bind_port", "api_port", "listen_port", "demo_api_listen_port", "wsgi_port",
                     "listen", "bind"]


# -- .wsgi files -------------------------------------------------------------------------------------------


WSGI_FILE_PROJECT = {
    "demo/api/app.wsgi": "from demo.api import app\napplication = app.load()\n",
    "demo/api/__init__.py": "", "demo/api/app.py": "def load():\n    return None\n",
    "demo/tests/functional/fake.wsgi": "application = None\n",  # a test's file: never an app
    "demo/api/notes.wsgi": "# no application here\nx = 1\n",
    "demo/cmd/api.py": """
        from werkzeug import serving
        def main():
            serving.run_simple('', 8000, None)
    """,
}


def test_a_wsgi_file_is_an_application_and_the_dev_server_script_a_tool(tmp_path: Path) -> None:
    project = make(tmp_path / "p", WSGI_FILE_PROJECT, scripts={"demo-api": "demo.cmd.api:main",
                                                               "demo-manage": "demo.cmd.manage:main"})
    plan = generate.load_plan(project)
    assert [(s.name, s.wsgi_path) for s in plan.services] == [("demo-api", "demo/api/app.wsgi")]
    api = plan.services[0]
    assert api.entry_point == "demo/api/app.wsgi" and "WSGI file demo/api/app.wsgi" in api.reason
    tool = next(t for t in plan.tools if t.name == "demo-api")
    assert "WSGI application under uWSGI" in tool.reason  # the development server is not the service
    ini = generate.render_plan(plan)["systemd/demo-api-uwsgi.ini"]
    assert "wsgi-file = /usr/lib/demo/lib/python3.11/site-packages/demo/api/app.wsgi\n" in ini
    assert "plugins" not in ini and "module =" not in ini


def test_modules_and_wsgi_scripts_come_before_wsgi_files(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {**WSGI_FILE_PROJECT, **API_MODULE})
    assert [s.wsgi_module for s in generate.load_plan(project).services] == ["demo.wsgi.api"]
    scripts = make(tmp_path / "s", WSGI_FILE_PROJECT, extra="wsgi_scripts =\n    demo-wsgi = demo.api.app:load\n")
    assert [s.wsgi_file for s in generate.load_plan(scripts).services] == ["demo-wsgi"]


def test_system_mode_uwsgi_is_the_distributions_with_its_python3_plugin(tmp_path: Path) -> None:
    project = make(tmp_path / "p", WSGI_FILE_PROJECT, extra="\n[phoenix:rpm]\ninstall_mode = system\n")
    plan = generate.load_plan(project)
    assert {"uwsgi", "uwsgi-plugin-python3"} <= set(plan.rpm_requires) and "pyuwsgi" not in plan.requirements
    rendered = generate.render_plan(plan)
    ini, spec = rendered["systemd/demo-api-uwsgi.ini"], rendered["rpm/demo.spec"]
    assert "\nplugins = python3\n" in ini
    assert f"wsgi-file = {wsgiapps.SITELIB_PLACEHOLDER}/demo/api/app.wsgi\n" in ini
    assert plan.services[0].exec_start == "/usr/sbin/uwsgi --ini /etc/demo/demo-api-uwsgi.ini"
    requires = [line.split(None, 1)[1] for line in spec.splitlines() if line.startswith("Requires:")]
    assert "uwsgi" in requires and "uwsgi-plugin-python3" in requires, requires
    # %install gives the ini the target's site-packages (the placeholder never reaches the payload)
    dest = speccontext.source_destinations(plan)["demo-api-uwsgi.ini"]
    assert f"sed -i 's|{wsgiapps.SITELIB_PLACEHOLDER}|%{{python3_sitelib}}|' {dest}\n" in spec
    # the file itself, when pip did not install it as package data (an sdist without SOURCES.txt)
    assert ("test -e %{buildroot}%{python3_sitelib}/demo/api/app.wsgi || install -p -D -m 0644 "
            "demo/api/app.wsgi %{buildroot}%{python3_sitelib}/demo/api/app.wsgi\n") in spec


def test_system_mode_module_app_ini(tmp_path: Path) -> None:
    project = make(tmp_path / "p", API_MODULE, extra="\n[phoenix:rpm]\ninstall_mode = system\n")
    plan = generate.load_plan(project)
    rendered = generate.render_plan(plan)
    ini, spec = rendered["systemd/demo-api-uwsgi.ini"], rendered["rpm/demo.spec"]
    assert "\nplugins = python3\nmodule = demo.wsgi.api:application\n" in ini
    assert "PHOENIX_PYTHON3_SITELIB" not in spec  # nothing to substitute


# -- where the config lives --------------------------------------------------------------------------------


GENERATOR = {"etc/demo-config-generator.conf": "[DEFAULT]\noutput_file = etc/demo-api.conf.sample\n"
                                               "namespace = demo\n",
             "etc/api-paste.ini": "[app:demo]\npaste.app_factory = demo.api:factory\n"}


def test_the_folder_and_user_are_the_projects_the_generator_names_the_file(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {**API_MODULE, **GENERATOR}, name="openstack-demo",
                   files_section="data_files =\n    etc/demo = etc/api-paste.ini\n")
    plan = generate.load_plan(project)
    assert (plan.conf_name, plan.user) == ("demo", "demo")
    assert "data_files install into etc/demo" in plan.conf_reason and "demo-api.conf" in plan.conf_reason
    assert [g.dest for g in plan.generated_config] == ["/etc/demo/demo-api.conf"]
    assert plan.main_config == "/etc/demo/demo-api.conf"
    assert plan.conf_d == "/etc/demo/demo.conf.d"  # oslo.config's default drop-in folder of project demo
    api = _app(plan, "demo-api")  # not demo-api-api
    assert api.uwsgi_ini == "/etc/demo/demo-api-uwsgi.ini"
    assert "pyargv = --config-file /etc/demo/demo-api.conf --config-dir /etc/demo/demo.conf.d\n" in \
        generate.render_plan(plan)["systemd/demo-api-uwsgi.ini"]
    assert {d.path for d in plan.config_dirs} == {"/etc/demo", "/etc/demo/demo.conf.d"}


def test_without_data_files_the_import_package_names_the_folder(tmp_path: Path) -> None:
    plan = generate.load_plan(make(tmp_path / "p", {**API_MODULE, **GENERATOR}, name="openstack-demo"))
    assert (plan.conf_name, plan.user, plan.main_config) == ("demo", "demo", "/etc/demo/demo-api.conf")
    assert "the import package demo" in plan.conf_reason
    # the paste file found under etc/ goes to the project's folder too
    assert "/etc/demo/api-paste.ini" in plan.config_files


def test_a_file_the_package_ships_is_not_generated(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {**API_MODULE, **GENERATOR, "etc/demo-api.conf": "[DEFAULT]\n"},
                   name="python-demo",
                   files_section="data_files =\n    etc/apache2 = etc/api-paste.ini\n"
                                 "    etc/demo = etc/demo-api.conf\n")
    plan = generate.load_plan(project)
    assert plan.conf_name == "demo"  # not apache2: another program's folder
    assert plan.main_config == "/etc/demo/demo-api.conf" and plan.generated_config == ()
    assert plan.config_files.count("/etc/demo/demo-api.conf") == 1


def test_a_shipped_project_conf_stays_the_main_config(tmp_path: Path) -> None:
    project = make(tmp_path / "p", {**API_MODULE, **GENERATOR, "etc/demo/demo.conf": "[DEFAULT]\n"},
                   files_section="data_files =\n    etc/demo = etc/demo/demo.conf\n")
    plan = generate.load_plan(project)
    assert plan.main_config == "/etc/demo/demo.conf" and plan.generated_config == ()
    assert plan.conf_d == "/etc/demo/demo.conf.d"


def test_a_daemon_reads_its_own_shipped_file(tmp_path: Path) -> None:
    """/etc/<conf>/<daemon>.conf shipped beside the main config: the daemon's --config-file (its prog's file)."""
    project = make(tmp_path / "p", {**API_MODULE, **GENERATOR, "etc/demo-api.conf": "[DEFAULT]\n",
                                    "etc/demo-scrubber.conf": "[DEFAULT]\n", "demo/cmd/scrub.py": """
        from oslo_service import service
        def main():
            service.launch(None, None).wait()
    """, "demo/cmd/engine.py": "from oslo_service import service\ndef main():\n    service.launch(None, None)\n"},
                   scripts={"demo-scrubber": "demo.cmd.scrub:main", "demo-engine": "demo.cmd.engine:main"},
                   files_section="data_files =\n    etc/demo = etc/demo-api.conf etc/demo-scrubber.conf\n")
    plan = generate.load_plan(project)
    starts = {s.name: s.exec_start for s in plan.services if not s.uwsgi}
    assert starts["demo-scrubber"].endswith(" --config-file /etc/demo/demo-scrubber.conf "
                                            "--config-dir /etc/demo/demo.conf.d"), starts
    assert starts["demo-engine"].endswith(" --config-file /etc/demo/demo-api.conf --config-dir /etc/demo/demo.conf.d")


def test_an_import_package_named_unlike_the_project_names_nothing(tmp_path: Path) -> None:
    plan = generate.load_plan(make(tmp_path / "p", {**API_MODULE, **GENERATOR}, name="vesta"))
    assert (plan.conf_name, plan.user, plan.main_config) == ("vesta", "vesta", "/etc/vesta/demo-api.conf")
    assert "the project's name" in plan.conf_reason


def test_the_projects_own_init_scripts_and_units_are_left_out(tmp_path: Path) -> None:
    """tacker's data_files: ``etc/init.d = etc/init.d/<name>-server`` and its own ``.service``
    files. The generated units replace them: left out, said so; any other file there is still refused."""
    files = {"etc/demo/api-paste.ini": "[app:main]\nuse = egg:demo#main\n",
             "etc/init.d/demo-server": "#!/bin/sh\n", "etc/systemd/system/demo.service": "[Service]\n",
             "etc/systemd/system/demo-conductor.service": "[Service]\n", "etc/init/demo-server.conf": "exec x\n"}
    data = ("data_files =\n    etc/demo = etc/demo/api-paste.ini\n    etc/init.d = etc/init.d/demo-server\n"
            "    etc/init = etc/init/demo-server.conf\n"
            "    etc/systemd/system =\n        etc/systemd/system/demo.service\n"
            "        etc/systemd/system/demo-conductor.service\n")
    scripts = {"demo-server": "demo.cmd.server:main"}
    server = {"demo/cmd/server.py": "from oslo_service import service\ndef main():\n    service.launch(None, None)\n"}
    plan = generate.load_plan(make(tmp_path / "p", {**files, **server}, scripts=scripts, files_section=data))
    assert [w.split(" ", 1)[0] for w in plan.left_out] == [
        "etc/init.d/demo-server", "etc/init/demo-server.conf", "etc/systemd/system/demo.service",
        "etc/systemd/system/demo-conductor.service"], plan.left_out
    assert "the project's SysV init script; the package's systemd units replace it" in plan.left_out[0]
    assert [f.dest for f in plan.files] == ["/etc/demo/api-paste.ini"]
    assert [s.name for s in plan.services] == ["demo-server"]
    # a file not named for the project (or not a unit) in those folders is still refused
    other = data.replace("etc/init.d = etc/init.d/demo-server", "etc/init.d = etc/init.d/other-tool")
    files["etc/init.d/other-tool"] = "#!/bin/sh\n"
    with pytest.raises(UserError, match="/etc/init.d is a system folder"):
        generate.load_plan(make(tmp_path / "q", {**files, **server}, scripts=scripts, files_section=other))


def test_an_import_package_named_api_says_nothing_and_any_paste_ini_names_the_port(tmp_path: Path) -> None:
    """monasca-api's shape: its package is ``monasca_api`` (so every option file's path says
    "api"), its only port options are cassandra's and influxdb's, and its paste file
    ``etc/api-config.ini`` (not ``*paste.ini``) has ``[server:main] port = 8070``."""
    conf = {"demo_api/__init__.py": "", "demo_api/wsgi/__init__.py": "", "demo_api/wsgi/api.py": "application = 1\n",
            "demo_api/conf/__init__.py": "",
            "demo_api/conf/cassandra.py": "from oslo_config import cfg\nopts = [cfg.PortOpt('port', default=9042)]\n",
            "demo_api/conf/influxdb.py": "from oslo_config import cfg\nopts = [cfg.PortOpt('port', default=8086)]\n"}
    root = make(tmp_path / "p", {**conf, "etc/api-config.ini": "[server:main]\nuse = egg:gunicorn#main\nport = 8070\n"
                                 "\n[app:main]\nuse = egg:demo_api#main\n"},
                name="demo-api", files_section="data_files =\n    etc/demo = etc/api-config.ini\n")
    cfg = root / "setup.cfg"
    cfg.write_text(cfg.read_text().replace("packages = demo\n", "packages = demo_api\n"))
    plan = generate.load_plan(root)
    api = next(s for s in plan.services if s.uwsgi)
    assert api.bind == "0.0.0.0:8070" and api.bind_source == "etc/api-config.ini [server:main] port", api.bind_source
    # without the paste file: a database's port is never the API's, whatever the package is called
    (root / "etc/api-config.ini").unlink()
    cfg.write_text(cfg.read_text().replace("data_files =\n    etc/demo = etc/api-config.ini\n", ""))
    api = next(s for s in generate.load_plan(root).services if s.uwsgi)
    assert api.bind_source.startswith("fallback"), api.bind_source


def test_deployment_files_reached_through_a_symlink_are_not_read(tmp_path: Path) -> None:
    """A uWSGI ini or devstack folder linked from outside the project never names the port."""
    outside = tmp_path / "outside"
    (outside / "vassals").mkdir(parents=True)
    (outside / "vassals" / "api.ini").write_text("[uwsgi]\nhttp-socket = 0.0.0.0:9311\n")
    (outside / "settings").write_text("DEMO_SERVICE_PORT=8786\n")
    root = make(tmp_path / "p", {**API_MODULE})
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "vassals").symlink_to(outside / "vassals")
    (root / "devstack").symlink_to(outside)
    api = _app(generate.load_plan(root), "demo-api")
    assert api.bind_source.startswith("fallback"), api.bind_source
