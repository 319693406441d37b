"""The ops scenarios of issue 7 against apollo installed from its RPM in a booted box.

Order matters and is the file order: load first (it also measures memory
right after), then the faults, restart/reload, bad input, least privilege,
resources. Each test prints the scenario's one line of figures (``-s`` or
``-rA`` shows them) and fails with the scenario's own problem messages.
"""
from __future__ import annotations

import pytest

from phoenix_rpm.ops import scenarios


def _check(result: scenarios.ScenarioResult) -> scenarios.ScenarioResult:
    print(f"ops: {result.line}")
    if result.problems:
        pytest.fail("\n".join(result.problems), pytrace=False)
    return result


def test_load_on_every_port_has_no_failed_or_non_2xx_requests(ops_target):
    f = _check(scenarios.load(ops_target)).figures
    assert f["ports"] == ops_target.ports and len(f["per_port"]) == len(ops_target.ports)
    assert f["requests"] > 0 and f["rps"] > 0 and 0 < f["p50_ms"] <= f["p99_ms"]
    assert f["seconds"] >= ops_target.load_seconds - 1


def test_killed_worker_is_respawned_within_a_second_and_only_its_requests_fail(ops_target):
    f = _check(scenarios.worker_death(ops_target)).figures
    assert f["new_workers"] and f["victim"] not in f["new_workers"]


def test_killed_main_process_is_restarted_by_systemd_and_keeps_its_data(ops_target):
    f = _check(scenarios.main_crash(ops_target)).figures
    assert f["restarts"] == 1 and f["new_pid"] != f["old_pid"]


def test_restart_under_load_drops_no_accepted_request(ops_target):
    f = _check(scenarios.restart(ops_target)).figures
    assert f["new_pid"] != f["old_pid"] and f["ok"] > 0


def test_reload_applies_a_changed_option_without_a_new_main_pid(ops_target):
    f = _check(scenarios.reload(ops_target)).figures
    assert f["applied_s"] is not None and f["new_pid"] == f["old_pid"]


def test_broker_restarted_under_casts_loses_no_accepted_cast_and_the_bus_recovers(ops_target):
    assert "rabbitmq" in ops_target.needs and ops_target.profile.bus
    f = _check(scenarios.broker_restart(ops_target)).figures
    assert f["accepted"] > 0 and f["accepted_after"] > 0 and f["lost"] == 0, f
    assert f["status"].get("done") == f["accepted"], f
    assert f["recover_s"] is not None and f["restart_s"] > 0, f


def test_rpc_worker_killed_mid_call_is_respawned_and_no_caller_hangs(ops_target):
    f = _check(scenarios.rpc_worker_kill(ops_target)).figures
    assert f["victim"] in f["kind_workers"] and f["new_pid"] and f["new_pid"] != f["victim"], f
    assert f["in_flight"] > 0 and f["calls_hang"] == 0, f
    assert f["in_flight_ok"] + f["in_flight_answered"] == f["in_flight"], f


def test_malformed_messages_on_the_rpc_topic_are_logged_acknowledged_and_skipped(ops_target):
    f = _check(scenarios.malformed_message(ops_target)).figures
    assert len(f["published"]) >= 4 and f["queue_messages"] == 0 and f["consumers"] >= 1, f
    assert f["calls_ok"] >= 1 and not f["workers_gone"], f


def test_hostile_requests_get_the_right_4xx_with_json_and_no_traceback(ops_target):
    f = _check(scenarios.bad_input(ops_target)).figures
    assert f["cases"] >= 30


def test_least_privilege_user_sandbox_payload_config_and_exposure(ops_target):
    f = _check(scenarios.least_privilege(ops_target)).figures
    assert all(probe["denied"] for probe in f["probes"])
    assert set(f["exposure"]) == set(ops_target.units)


def test_resources_memory_after_load_and_unit_limits(ops_target):
    f = _check(scenarios.resources(ops_target)).figures
    assert all(mem["rss_mib"] > 0 for mem in f["after_load"].values())


def test_the_generic_workload_holds_on_a_real_phoenix_service(ops_target):
    """A project without an ops profile gets the generic workload (GETs of the
    health check, the generic hostile table, a reload with nothing changed,
    a crash with nothing written): run on apollo in the same box, every
    scenario must pass, so the defaults would not fail a correct service."""
    import dataclasses

    from phoenix_rpm.ops import badinput, profile

    generic = dataclasses.replace(ops_target, profile=profile.default(ops_target.profile.health),
                                  seeded=[], load_seconds=10.0)
    results = scenarios.run_all(generic, only=["load", "main_crash", "restart", "reload", "bad_input"])
    for result in results:
        print(f"ops (generic): {result.line}")
    assert [r.name for r in results] == ["load", "main_crash", "restart", "reload", "bad_input"]
    assert all(r.ok for r in results), [p for r in results for p in r.problems]
    load = results[0].figures
    assert load["requests"] > 0 and "GET of the health check" in results[0].line
    assert results[4].figures["cases"] == len(profile.default().bad_input({}, badinput.Limits()))
