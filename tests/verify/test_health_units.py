"""Host-side pieces of health judging and backing services, without a box.

Tracebacks cut for the report, the report's per-unit traceback and journal
hints (with and without --keep-box), the drop-in's contents and order, the
names made for database/user/vhost, and the box key of a root with servers.
The same behaviour through real boxes: test_backing.py.
"""
from __future__ import annotations

from pathlib import Path

from phoenix_rpm import backing, tracebacks, verify
from phoenix_rpm.box import root
from phoenix_rpm.verify_plan import HttpCheck, VerifyPlan
from phoenix_rpm.verify_profile import ConfigOption, VerifyProfile

JOURNAL = """\
hermes-api: starting
Traceback (most recent call last):
  File "/usr/lib/hermes/bin/hermes-api", line 8, in <module>
    sys.exit(main())
  File "/usr/lib/hermes/hermes/cmd/api.py", line 50, in main
    messaging.connection().release()
  File "/usr/lib/hermes/hermes/messaging.py", line 12, in connection
    raise RuntimeError("no transport_url")
RuntimeError: no transport_url

hermes-api.service: Main process exited, code=exited, status=1/FAILURE
Traceback (most recent call last):
  File "x", line 1
ValueError: second
"""


def test_first_traceback_runs_to_its_exception_line() -> None:
    lines = tracebacks.first(JOURNAL)
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: no transport_url"
    assert tracebacks.count(JOURNAL) == 2
    short = tracebacks.excerpt(lines, head=3, tail=2)
    assert short[0] == lines[0] and short[-1] == "RuntimeError: no transport_url" and "more lines" in short[3]


def test_oslo_log_prefixed_traceback() -> None:
    text = ("2026 ERROR svc Traceback (most recent call last):\n"
            "2026 ERROR svc   File \"a.py\", line 3, in f\n"
            "2026 ERROR svc     g()\n"
            "2026 ERROR svc KeyError: 'x'\n"
            "2026 ERROR svc next line\n")
    assert tracebacks.first(text)[-1] == "2026 ERROR svc KeyError: 'x'"


def _plan(**kw) -> VerifyPlan:
    return VerifyPlan(package="hermes", version="1.0.0", release="1", user="hermes", group="hermes",
                      config_files=[], units=["hermes-api.service", "hermes-worker.service"], state_dirs=[],
                      http=[HttpCheck(unit="hermes-api.service")], **kw)


def _report(kept: verify.KeptBox | None) -> str:
    suite = verify.SuiteResult(returncode=1, junit=Path("dist/verify-junit.xml"), tests=3, passed=1, failed=[
        ("test_http::test_wsgi_ports_listening[hermes-api.service]",
         "unit hermes-api.service: listens on no TCP port\n--- first traceback of 1 ---\n" + JOURNAL),
        ("test_services::test_unit_journal_has_no_traceback[hermes-api.service]",
         "unit hermes-api.service: 2 traceback(s) in its journal; the first:\n" + JOURNAL),
    ])
    report = verify.VerifyReport(plan=_plan(needs=["mariadb"], dropin="/etc/hermes/hermes.conf.d/50-phoenix-verify.conf"),
                                 timings=verify.Timings(boot=1, backing=2, install=3, setup=1, ready=1, testinfra=3),
                                 suite=suite, kept=kept)
    return verify.format_report(report)


def test_report_shows_unit_traceback_and_how_to_read_the_journal() -> None:
    text = _report(None)
    assert "phases: boot 1.0 s, backing servers 2.0 s, install 3.0 s, setup 1.0 s" in text
    assert "backing servers: mariadb (settings in /etc/hermes/hermes.conf.d/50-phoenix-verify.conf)" in text
    assert "FAILED test_http::test_wsgi_ports_listening[hermes-api.service]: unit hermes-api.service: listens on no TCP port" in text
    assert "      RuntimeError: no transport_url" in text
    assert text.count("RuntimeError: no transport_url") == 1   # once per unit
    assert "rerun with --keep-box" in text and "journalctl -u hermes-api.service" in text


def test_report_of_a_kept_box_says_how_to_log_in_and_remove_it() -> None:
    text = _report(verify.KeptBox(name="phx-abc123", ssh_config="/var/tmp/phoenix/phx-abc123/ssh_config"))
    assert "log in with  ssh -F /var/tmp/phoenix/phx-abc123/ssh_config phx-abc123" in text
    assert "read the whole journal:  journalctl -u hermes-api.service" in text
    assert "remove the box:  build-rpm box rm --kept phx-abc123" in text


def test_parse_junit_takes_the_whole_message_pytest_cut(tmp_path: Path) -> None:
    xml = tmp_path / "j.xml"
    xml.write_text('<testsuites><testsuite><testcase classname="infra.test_services" name="test_x[a.service]">'
                   '<failure message="Failed: first&#10;[+5 more lines; full report in element text]">'
                   'first\nRuntimeError: the news</failure></testcase></testsuite></testsuites>')
    _, _, _, failed = verify.parse_junit(xml)
    assert failed == [("test_services::test_x[a.service]", "first\nRuntimeError: the news")]


def test_dropin_profile_config_overrides_generated_settings() -> None:
    profile = VerifyProfile(needs=("mariadb",), config=(ConfigOption("database", "connection", "mysql+pymysql://x"),
                                                        ConfigOption("DEFAULT", "debug", "true")))
    text = backing.dropin_text([ConfigOption("database", "connection", "generated"),
                                ConfigOption("DEFAULT", "transport_url", "rabbit://u:p@127.0.0.1:5672/v")], profile)
    assert "generated" not in text
    assert text.index("[DEFAULT]") < text.index("[database]")
    assert "transport_url = rabbit://u:p@127.0.0.1:5672/v\ndebug = true" in text
    assert "connection = mysql+pymysql://x" in text


def test_credentials_are_sql_safe_and_random() -> None:
    a, b = backing.credentials_for("my-service.d"), backing.credentials_for("my-service.d")
    assert a.user == a.database == a.vhost == "my_service_d"
    assert a.password != b.password and len(a.password) == 32
    assert backing.credentials_for("9lives").user == "s_9lives"


def test_root_key_with_servers_differs_and_plain_key_is_unchanged() -> None:
    assert root.box_key() == root.box_key(extra=())
    assert root.box_key(extra=("mariadb-server",)) != root.box_key()
    assert root.box_key(extra=("rabbitmq-server", "mariadb-server")) == root.box_key(extra=("mariadb-server", "rabbitmq-server"))
    assert VerifyProfile(needs=("rabbitmq", "mariadb")).packages == ("mariadb-server", "rabbitmq-server")


class _FakeBox:
    """Records commands; answers like a box whose second command fails (unit tests only)."""

    def __init__(self, fail_at: int) -> None:
        self.calls: list[list[str]] = []
        self.fail_at = fail_at

    def exec(self, argv, check=True, timeout=None, input=None):  # noqa: ANN001
        import subprocess

        self.calls.append(list(argv))
        code = 3 if len(self.calls) == self.fail_at else 0
        return subprocess.CompletedProcess(argv, code, stdout="", stderr="Traceback...\nNoSuchTable: notes" if code else "")


def test_setup_commands_run_as_the_service_user_in_order_and_stop_at_the_first_failure() -> None:
    import pytest

    from phoenix_rpm.errors import CheckFailed

    box = _FakeBox(fail_at=2)
    profile = VerifyProfile(setup=("demo-manage db sync", "demo-manage bootstrap", "never"))
    with pytest.raises(CheckFailed, match=r"(?s)setup command failed as demo \(exit 3\): demo-manage bootstrap\n.*NoSuchTable"):
        backing.run_setup(box, profile, "demo", "/var/lib/demo")
    assert len(box.calls) == 2
    first = box.calls[0]
    assert first[:4] == ["runuser", "-u", "demo", "--"] and first[-3:-1] == ["/bin/sh", "-c"]
    assert first[-1].endswith("exec demo-manage db sync") and "cd /var/lib/demo" in first[-1]


def test_verify_plan_checks_per_wsgi_unit_from_the_profile() -> None:
    from planmaker import service, spec_plan

    from phoenix_rpm.verify_plan import RpmInfo, build_verify_plan
    from phoenix_rpm.verify_profile import HttpProbe

    plan = spec_plan("demo", user="demo", group="demo", config_files=["/etc/demo/demo.conf"],
                     services=[service("demo-api", wsgi=True, phoenix=False),
                               service("demo-admin-api", wsgi=True, phoenix=True),
                               service("demo-worker", wsgi=False, phoenix=False)])
    rpm = RpmInfo(path=Path("demo.rpm"), name="demo", version="1", release="1", arch="noarch", config_files=(),
                  files=tuple(f"/usr/lib/systemd/system/{u}" for u in
                              ("demo-api.service", "demo-admin-api.service", "demo-worker.service")))
    profile = VerifyProfile(needs=("rabbitmq",), settle=7, checks=(HttpProbe("GET", "/v1", status=401, unit="demo-api"),))
    vp = build_verify_plan(plan, rpm, profile)
    http = {h.unit: h for h in vp.http}
    assert set(http) == {"demo-api.service", "demo-admin-api.service"}
    # not a phoenix service: ports found from its sockets, the profile's check
    assert http["demo-api.service"].discovered
    assert http["demo-api.service"].probes == [{"method": "GET", "path": "/v1", "status": 401, "below": None,
                                                "unit": "demo-api"}]
    # a phoenix service: ports from its config, its default healthcheck
    assert http["demo-admin-api.service"].config_file == "/etc/demo/demo.conf"
    assert [p["path"] for p in http["demo-admin-api.service"].probes] == ["/healthcheck"]
    assert vp.settle == 7 and vp.needs == ["rabbitmq"]
    assert vp.dropin == "/etc/demo/demo.conf.d/50-phoenix-verify.conf"
    assert VerifyPlan.read(vp.write(Path("/tmp") / "vp-test.json")) == vp


def test_plan_without_profile_has_no_dropin_and_the_default_root_check() -> None:
    from planmaker import service, spec_plan

    from phoenix_rpm.verify_plan import RpmInfo, build_verify_plan

    plan = spec_plan("demo", services=[service("demo-wsgi", wsgi=True, phoenix=False)])
    rpm = RpmInfo(path=Path("demo.rpm"), name="demo", version="1", release="1", arch="noarch", config_files=(),
                  files=("/usr/lib/systemd/system/demo-wsgi.service",))
    vp = build_verify_plan(plan, rpm)
    assert vp.dropin == "" and vp.needs == [] and vp.settle == 3.0
    assert vp.http[0].probes == [{"method": "GET", "path": "/", "status": None, "below": 500, "unit": None}]


def test_error_records_are_log_records_not_traceback_lines() -> None:
    """ERROR/CRITICAL records (oslo.log and logging's default format), a logged traceback's lines not counted."""
    text = ("2026-11-30 19:25:51.077 180 ERROR oslo.messaging._drivers.impl_rabbit [-] Connection failed: "
            "[Errno 111] Connection refused (retrying in 1.0 seconds)\n"
            "2026-11-30 19:22:38.226 184 ERROR osprofiler.notifier Traceback (most recent call last):\n"
            "2026-11-30 19:22:38.226 184 ERROR osprofiler.notifier   File \"x.py\", line 75, in create\n"
            "2026-11-30 19:22:38.226 184 ERROR osprofiler.notifier ValueError: no driver\n"
            "2026-11-30 19:22:38.226 184 CRITICAL svc [req-1 - - - - -] cannot start\n"
            "2026-11-30 19:22:38.226 184 INFO svc [-] an ERROR in a message is not a record\n"
            "ERROR:root:boom\n"
            "GET /ERROR => generated 10 bytes (HTTP/1.1 200)\n")
    records = tracebacks.error_records(text)
    assert [r.split(" ", 4)[-1][:24] for r in records[:2]] == ["oslo.messaging._drivers.", "svc [req-1 - - - - -] ca"]
    assert records[2] == "ERROR:root:boom" and len(records) == 3
