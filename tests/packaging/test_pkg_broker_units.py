"""Units order after the message broker only when the shipped config puts it on this machine.

tests/data/hermes (an API and a worker daemon reading /etc/hermes/hermes.conf)
with its transport_url set to a local broker, a remote one and none;
apollo ships none (the operator, or the verify box's drop-in, sets it), so
its golden units stay as they are (docs/packaging.md, "Message broker").
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phoenix_rpm import broker, decisions, generate, spec, units

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]
RABBIT = "rabbitmq-server.service"


def hermes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str | None) -> Path:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    dst = tmp_path / "hermes"
    shutil.copytree(DATA / "hermes", dst)
    conf = dst / "etc" / "hermes" / "hermes.conf"
    if url is not None:
        conf.write_text(conf.read_text().replace("# transport_url = rabbit://USER:PASSWORD@HOST:5672/VHOST",
                                                 f"transport_url = {url}"))
    return dst


def unit_section(project: Path, service: str) -> list[tuple[str, str]]:
    plan = generate.load_plan(project)
    svc = next(s for s in plan.services if s.name == service)
    return dict(units.unit_for(svc, plan))["Unit"]


@pytest.mark.parametrize("url", ["rabbit://hermes:secret@localhost:5672/hermes",
                                 "rabbit://hermes:secret@127.0.0.1:5672/",
                                 "rabbit://a:b@[::1]:5672,a:b@127.0.0.2:5673/v"])
@pytest.mark.parametrize("service", ["hermes-api", "hermes-worker"])
def test_a_local_broker_in_the_shipped_config_orders_the_units_after_it(tmp_path, monkeypatch, url, service):
    items = unit_section(hermes(tmp_path, monkeypatch, url), service)
    assert ("After", RABBIT) in items and ("Wants", RABBIT) in items, items
    assert ("After", "network-online.target") in items and ("Wants", "network-online.target") in items


@pytest.mark.parametrize("url", ["rabbit://hermes:secret@broker.example.org:5672/hermes",
                                 "rabbit://a:b@127.0.0.1:5672,a:b@mq2:5672/",   # one remote host: not local
                                 "kafka://127.0.0.1:9092/",                     # local, but no known unit
                                 None])                                         # not set in the shipped file
def test_a_remote_unknown_or_unset_broker_leaves_only_the_network_ordering(tmp_path, monkeypatch, url):
    items = unit_section(hermes(tmp_path, monkeypatch, url), "hermes-api")
    assert [v for k, v in items if k in ("After", "Wants")] == ["network-online.target"] * 2, items


def test_apollo_ships_no_transport_url_so_its_units_do_not_want_a_broker():
    assert broker.configured(generate.load_plan(REPO)) is None
    assert RABBIT not in str(unit_section(REPO, "apollo-api"))


def test_the_generated_unit_file_carries_both_lines(tmp_path, monkeypatch):
    project = hermes(tmp_path, monkeypatch, "rabbit://h:s@localhost/")
    plan = generate.load_plan(project)
    text = units.render_unit_files(plan, spec.environment(project))["systemd/hermes-worker.service"]
    assert f"After={RABBIT}\n" in text and f"Wants={RABBIT}\n" in text, text


@pytest.mark.parametrize(("url", "scheme", "hosts"), [
    ("rabbit://u:p@h1:5672,u:p@h2:5673/vhost", "rabbit", ("h1", "h2")),
    ("rabbit://u:p@[::1]:5672/", "rabbit", ("::1",)),
    ("kombu+memory://", "kombu", ()),
    ("not a url", "", ()),
])
def test_parse_url(url, scheme, hosts):
    assert broker.parse_url(url) == (scheme, hosts)


def test_local_means_every_host_on_this_machine():
    assert broker.Broker("rabbit", ("localhost", "127.0.0.1", "::1"), "x").local
    assert not broker.Broker("rabbit", ("localhost", "10.0.0.5"), "x").local
    assert not broker.Broker("rabbit", (), "x").local


@pytest.mark.parametrize(("url", "says"), [
    ("rabbit://h:s@localhost/", "message broker: rabbit on localhost (etc/hermes/hermes.conf transport_url): "
                                "units After=/Wants=rabbitmq-server.service (local)"),
    ("rabbit://h:s@mq.example.org/", "units order after network-online.target only (not on this machine)"),
    ("kafka://127.0.0.1:9092/", "units order after network-online.target only (no unit known for this scheme)"),
])
def test_the_generate_stage_shows_the_broker_decision(tmp_path, monkeypatch, url, says):
    plan = generate.load_plan(hermes(tmp_path, monkeypatch, url))
    assert says in decisions.as_table(plan), decisions.as_table(plan)
    assert decisions.as_data(plan)["message_broker"]["source"] == "etc/hermes/hermes.conf"


def test_no_shipped_transport_url_shows_no_broker_line():
    plan = generate.load_plan(REPO)
    assert decisions.as_data(plan)["message_broker"] is None
    assert "message broker" not in decisions.as_table(plan)
