"""One booted box with apollo installed and started, shared by the ops scenarios.

The RPM is built from a copy of this tree the way tests/verify builds its
variants (a stable path, a fixed commit date: an unchanged tree is not
rebuilt), then installed with plain ``rpm -ivh`` and started with
``systemctl enable --now`` in a fresh box, exactly as ``tools/build-rpm
--verify`` does. The scenarios then run in that box in a sensible order (the
tests of test_scenarios.py, in file order), sharing one ``Target`` with
apollo's workload profile (ops-profile/apollo.py, named in setup.cfg). As ``--verify`` does, the box
has the backing servers of apollo's verify profile (``[phoenix:verify]
needs = rabbitmq``) started, provisioned and written into the drop-in
before the units start, so the message-bus scenarios run against a real
RabbitMQ.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from phoenix_rpm import verify
from phoenix_rpm.ops import scenarios
from phoenix_rpm.ops.profile import load as load_profile
from phoenix_rpm.verify_plan import build_verify_plan, read_rpm

HERE = Path(__file__).resolve().parent


def _verify_helpers() -> Any:
    """tests/verify/variants.py (Variant, sync_copy), under a name of its own."""
    spec = importlib.util.spec_from_file_location("phoenix_verify_variants",
                                                  HERE.parent / "verify" / "variants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


helpers = _verify_helpers()
LOAD_SECONDS = float(os.environ.get("PHOENIX_OPS_LOAD_SECONDS", "60"))


@pytest.fixture(scope="session")
def ops_variant() -> Any:
    """apollo as it is in this tree, at 1.0.0, built (generate + build) once."""
    variant = helpers.Variant("ops", helpers.sync_copy(helpers.WORK / "ops" / "apollo"), helpers.V1)
    variant.build_only()
    return variant


@pytest.fixture(scope="session")
def ops_target(ops_variant: Any) -> Iterator[scenarios.Target]:
    from phoenix_rpm import verify_profile
    from phoenix_rpm.box import booted, ensure_root
    from phoenix_rpm.generate import load_plan

    rpm = read_rpm(ops_variant.rpm())
    backing = verify_profile.load(ops_variant.project)
    assert "rabbitmq" in backing.needs, "apollo's verify profile starts RabbitMQ (the bus scenarios need it)"
    plan = build_verify_plan(load_plan(ops_variant.project), rpm, backing)
    with booted(ensure_root(extra=backing.packages)) as box:
        creds = verify.start_backing(box, plan, backing)
        verify.install_rpm(box, rpm.path)
        options = verify.prepare_backing(box, plan, backing, creds, verify.Timings())
        verify.configure_and_setup(box, plan, backing, options, verify.Timings())
        complaint = verify.enable_now(box, plan.units)
        assert complaint is None, f"systemctl enable --now failed: {complaint}"
        assert verify.wait_ready(box, plan), "apollo did not become ready in the box"
        profile = load_profile(ops_variant.project, plan.http[0].healthcheck)
        yield scenarios.target_for(box, plan, LOAD_SECONDS, profile)
