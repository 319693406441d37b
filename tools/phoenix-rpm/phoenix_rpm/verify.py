"""The verify stage: install the RPM in a freshly booted box and test it running.

The proof no other packaging step gives (docs/verify.md): on a
clean system, exactly ``rpm -ivh <rpm>`` (no ``--nodeps``) installs the
package, ``systemctl enable --now`` starts every service unit it ships, and
the testinfra suite in phoenix_rpm/infra, run over ssh against the box, finds each
service running as its own user, hardened, listening and healthy.

The phases are small public functions (``install_rpm``, ``enable_now``,
``wait_ready``, ``run_suite``) because the upgrade/erase scenario and the
negative tests drive the same steps in other orders.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, ContextManager, Protocol, Sequence

from phoenix_rpm import backing, boxprobes, inbox, runner, tracebacks
from phoenix_rpm.build import BuildResult
from phoenix_rpm.errors import CheckFailed, CommandFailed, UserError
from phoenix_rpm.generate import load_plan
from phoenix_rpm.plan import SpecPlan
from phoenix_rpm.verify_plan import RpmInfo, VerifyPlan, build_verify_plan, http_checks, read_rpm
from phoenix_rpm.verify_profile import VerifyProfile

# The testinfra suite ships inside the toolkit (package data), next to this module.
SUITE_DIR = Path(__file__).resolve().with_name("infra")
BOX_RPM_DIR = "/root/rpms"  # not /tmp: the box mounts its own tmpfs there
READY_TIMEOUT = 30.0


@dataclasses.dataclass
class Timings:
    """Seconds per verify phase, for the report and bench/bench_verify.py."""

    boot: float = 0.0
    backing: float = 0.0   # start the needed servers, create database/user/vhost
    install: float = 0.0
    setup: float = 0.0     # drop-in + the profile's setup commands
    ready: float = 0.0
    testinfra: float = 0.0
    teardown: float = 0.0

    @property
    def total(self) -> float:
        return (self.boot + self.backing + self.install + self.setup + self.ready + self.testinfra
                + self.teardown)


@dataclasses.dataclass
class SuiteResult:
    """The testinfra run, read back from its junit XML."""

    returncode: int
    junit: Path
    tests: int = 0
    passed: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (test id, message)
    skipped: int = 0
    skips: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (test id, reason)
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.failed and self.tests > 0


@dataclasses.dataclass(frozen=True)
class KeptBox:
    """A box left running after the run (``--keep-box``): how to reach and remove it."""

    name: str
    ssh_config: str

    @property
    def login(self) -> str:
        return f"ssh -F {self.ssh_config} {self.name}"

    @property
    def remove(self) -> str:
        return f"build-rpm box rm --kept {self.name}"


@dataclasses.dataclass
class VerifyReport:
    """What one verification found: timings, the suite's outcome, start-up errors."""

    plan: VerifyPlan
    timings: Timings
    suite: SuiteResult | None = None
    problems: list[str] = dataclasses.field(default_factory=list)
    # Set with --keep-box: how to log in to the box left running.
    kept: KeptBox | None = None
    notes: list[str] = dataclasses.field(default_factory=list)  # not failures: what was not done, and why
    ops_not_run: str = ""  # --ops asked for, but the scenarios cannot drive this package: why
    # unit -> (resident MiB summed over its processes, how many), read after the suite
    memory: dict[str, tuple[float, int]] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and self.suite is not None and self.suite.ok


# --- choosing what to verify -------------------------------------------------


def newest_rpms(dist: Path) -> list[Path]:
    """The binary RPMs of the newest build in dist/ (for ``--stage verify``)."""
    rpms = [p for p in dist.glob("*.rpm") if not p.name.endswith(".src.rpm")]
    if not rpms:
        raise UserError(f"{dist}: no binary RPM to verify; run tools/build-rpm first "
                        "(or tools/build-rpm --verify to build and verify at once)")
    newest = max(p.stat().st_mtime for p in rpms)
    # One build writes all its RPMs within seconds of each other.
    return sorted(p for p in rpms if newest - p.stat().st_mtime < 120)


def main_rpm(rpms: Sequence[Path], name: str | None) -> RpmInfo:
    """The package named like the project (not -debuginfo or other subpackages)."""
    infos = [read_rpm(p) for p in rpms if not p.name.endswith(".src.rpm")]
    for info in infos:
        if name is None or info.name == name:
            return info
    raise UserError(f"no RPM of package {name!r} among {', '.join(p.name for p in rpms)}; "
                    "rebuild with tools/build-rpm")


# --- phases, each usable alone ----------------------------------------------


def install_rpm(box: Any, rpm: Path, *, upgrade: bool = False) -> subprocess.CompletedProcess[str]:
    """Copy the RPM in and run exactly what a user types: ``rpm -ivh`` (or ``-Uvh``)."""
    box.exec(["mkdir", "-p", BOX_RPM_DIR])
    box.copy_in(rpm, f"{BOX_RPM_DIR}/{rpm.name}")
    argv = ["rpm", "-Uvh" if upgrade else "-ivh", f"{BOX_RPM_DIR}/{rpm.name}"]
    proc = box.exec(argv, check=False, timeout=300)
    if proc.returncode != 0:
        out = ((proc.stdout or "") + (proc.stderr or "")).strip()
        raise CheckFailed(f"{' '.join(argv)} failed in the box (exit {proc.returncode}):\n{out[-3000:]}")
    done: subprocess.CompletedProcess[str] = proc
    return done


def enable_now(box: Any, units: Sequence[str]) -> str | None:
    """``systemctl enable --now`` every unit; returns systemctl's complaint, if any.

    A unit that fails to start is not fatal here: the suite then says which
    unit is down and why (status and journal), which is the useful message.
    """
    if not units:
        return None
    proc = box.exec(["systemctl", "enable", "--now", *units], check=False, timeout=120)
    if proc.returncode != 0:
        return ((proc.stderr or "") + (proc.stdout or "")).strip() or f"exit status {proc.returncode}"
    return None


def wait_ready(box: Any, plan: VerifyPlan, timeout: float = READY_TIMEOUT) -> bool:
    """Poll inside the box until every unit is active and every port answers 200.

    Type=notify units are started once READY=1 arrives, so this is usually
    instant; it bounds the wait and lets a failed unit end it early.
    """
    proc = inbox.run(box, "ready_probe", json.dumps(plan.to_json()), str(timeout), boxprobes.LISTEN_PY,
                     timeout=timeout + 15)
    return proc.returncode == 0


# testinfra appends the host to every test id ("[unit-ssh://phx-1a2b3c]"): a
# throw-away box name that would make every report differ; drop it.
_HOST_ID = re.compile(r"(\[|-)[a-z]+://[^\]]*\]$")


def parse_junit(path: Path) -> tuple[int, int, int, list[tuple[str, str]]]:
    """(tests, passed, skipped, [(test id, first line of the failure)]) of a junit XML."""
    root = ET.parse(path).getroot()
    tests = passed = skipped = 0
    failed: list[tuple[str, str]] = []
    for case in root.iter("testcase"):
        tests += 1
        module = (case.get("classname") or "").rsplit(".", 1)[-1]
        name = f"{module}::{case.get('name', '')}" if module else case.get("name", "")
        name = _HOST_ID.sub(lambda m: "]" if m.group(1) == "-" else "", name)
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            message = (bad.get("message") or bad.text or "").strip()
            # pytest cuts the attribute after ten lines ("[+N more lines; full
            # report in element text]"): a traceback's exception line, the
            # news, would be lost. The element holds the whole message.
            if "more lines; full report in element text]" in message and bad.text:
                message = bad.text.strip()
            # pytest prefixes the exception type; the check's own words are the news.
            for prefix in ("Failed: ", "AssertionError: "):
                message = message.removeprefix(prefix)
            failed.append((name, message))
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return tests, passed, skipped, failed


def skipped_checks(path: Path) -> list[tuple[str, str]]:
    """(test id, reason) of every skipped check in a junit XML: the report prints each one."""
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        skip = case.find("skipped")
        if skip is None:
            continue
        module = (case.get("classname") or "").rsplit(".", 1)[-1]
        name = f"{module}::{case.get('name', '')}" if module else case.get("name", "")
        name = _HOST_ID.sub(lambda m: "]" if m.group(1) == "-" else "", name)
        reason = (skip.get("message") or skip.text or "").strip()
        # pytest writes "<file>:<line>: <reason>" for a skip mark's reason text
        reason = re.sub(r"^[^\s:]+\.py:\d+: ", "", reason)
        out.append((name, reason))
    return out


def muxed_ssh_config(config: Path, control_dir: Path) -> Path:
    """The box's ssh config plus connection sharing, in a file of our own.

    testinfra runs one ``ssh`` per command and asks for ``ControlMaster=auto``
    but gives no ControlPath (and its plugin drops ``--ssh-extra-args``), so
    without this every command pays a full ssh handshake: ~0.3 s instead of
    ~0.02 s, seconds over the suite.
    """
    text = config.read_text().rstrip("\n") + "\n"
    text += (f"  ControlMaster auto\n  ControlPath {control_dir}/%C\n  ControlPersist 60s\n")
    path = control_dir / "ssh_config"
    path.write_text(text)
    return path


def run_suite(box: Any, plan_json: Path, junit: Path, *, extra_args: Sequence[str] = (),
              suite_dir: Path = SUITE_DIR) -> SuiteResult:
    """Run phoenix_rpm/infra against the box through ssh; read the outcome from junit XML.

    One ssh master connection for the whole run (testinfra opens one ssh per
    command otherwise): that alone takes seconds off the suite.
    """
    junit.parent.mkdir(parents=True, exist_ok=True)
    if junit.exists():
        junit.unlink()
    control_dir = Path(tempfile.mkdtemp(prefix="pxv-", dir="/tmp"))
    ssh_config = muxed_ssh_config(Path(box.ssh_config), control_dir)
    argv = [
        sys.executable, "-m", "pytest", str(suite_dir),
        f"--hosts=ssh://{box.ssh_host}", f"--ssh-config={ssh_config}",
        f"--verify-plan={plan_json}", f"--junitxml={junit}",
        "-p", "no:cacheprovider", "-q", "-rN", "--tb=line", "--color=no",
        *extra_args,
    ]
    try:
        proc = runner.run(argv, cwd=SUITE_DIR, check=False, capture=True, timeout=600)
    finally:
        with contextlib.suppress(CommandFailed):  # the master may already be gone
            runner.run(["ssh", "-F", str(ssh_config), "-O", "exit", box.ssh_host], capture=True, timeout=10,
                       check=False)
        shutil.rmtree(control_dir, ignore_errors=True)
    output = (proc.stdout or "") + (proc.stderr or "")
    result = SuiteResult(returncode=proc.returncode, junit=junit, output=output)
    if junit.is_file():
        result.tests, result.passed, result.skipped, result.failed = parse_junit(junit)
        result.skips = skipped_checks(junit)
    if result.returncode not in (0, 1) or not junit.is_file():
        # Not a test failure: the suite could not run (usage error, ssh down...).
        result.failed.append(("phoenix_rpm/infra", f"the suite did not run (pytest exit {proc.returncode}):\n"
                              + output.strip()[-3000:]))
    return result


# --- the stage ---------------------------------------------------------------


def start_backing(box: Any, plan: VerifyPlan, profile: VerifyProfile) -> backing.Credentials:
    """Before the RPM: queue the start of the servers the profile needs (they boot during the install).

    Returns this run's credentials (random password), some of which the
    servers load as they boot (RabbitMQ's definitions).
    """
    creds = backing.credentials_for(plan.package)
    if profile.needs:
        runner.log(f"==> backing servers: start {' '.join(backing.UNITS[n] for n in profile.needs)}")
        backing.before_start(box, profile, creds)
        backing.start_servers(box, profile, wait=False)
    return creds


def prepare_backing(box: Any, plan: VerifyPlan, profile: VerifyProfile, creds: backing.Credentials,
                    timings: Timings) -> list[Any]:
    """Wait for the servers to answer, create database, users, vhost.

    Returns the connection settings for the drop-in (written once the package
    has created the service group). ``timings.backing`` is the time spent
    waiting here, past the install that ran while the servers started.
    """
    if not profile.needs:
        return []
    started = time.monotonic()
    with runner.stage("backing servers: wait until they answer, create database/user/vhost"):
        backing.wait_servers(box, profile)
        options = backing.provision(box, profile, creds,
                                    backing.clients_for(profile, plan.rpm) if plan.rpm else None)
    timings.backing = time.monotonic() - started
    return options


def configure_and_setup(box: Any, plan: VerifyPlan, profile: VerifyProfile, options: list[Any],
                        timings: Timings) -> None:
    """After the RPM, before the units start: the drop-in, then the setup commands as the service user."""
    if not (options or profile.config or profile.setup):
        return
    started = time.monotonic()
    if options or profile.config:
        path = backing.write_dropin(box, plan.package, plan.group, backing.dropin_text(options, profile),
                                    plan.dropin.rsplit("/", 1)[0] if plan.dropin else "")
        runner.log(f"    wrote {path} ({len(options)} connection setting(s), {len(profile.config)} from the profile)")
    if profile.setup:
        workdir = plan.state_dirs[0] if plan.state_dirs else "/"
        box.exec(["systemd-tmpfiles", "--create", f"/usr/lib/tmpfiles.d/{plan.package}.conf"],
                 check=False, timeout=30)
        backing.run_setup(box, profile, plan.user, workdir)
    timings.setup = time.monotonic() - started


# How a package gets into the box: ``rpm -ivh`` of the file by default;
# ``--verify --repo`` passes dnf's way (dnfverify.py): (label, install(box, rpm path)).
Installer = tuple[str, Callable[[Any, Path], Any]]


def verify_in_box(box: Any, rpm: RpmInfo, plan: VerifyPlan, plan_json: Path, junit: Path,
                  timings: Timings, profile: VerifyProfile | None = None,
                  installer: Installer | None = None) -> VerifyReport:
    """Install, start and test one package in an already booted box.

    With a profile: its backing servers are started first (before ``rpm
    -ivh``, as on a real host where the database exists before the service
    is installed; they boot while the package installs), then the database,
    users and vhost, the drop-in and the setup commands, then the start.
    """
    profile = profile or VerifyProfile()
    report = VerifyReport(plan=plan, timings=timings)
    if plan.missing_units:
        report.problems.append(f"the RPM does not ship unit(s) the plan promises: {', '.join(plan.missing_units)}")
    creds = start_backing(box, plan, profile)
    started = time.monotonic()
    label, install = installer or (f"rpm -ivh {rpm.path.name} in the box", install_rpm)
    with runner.stage(label):
        install(box, rpm.path)
    timings.install = time.monotonic() - started
    options = prepare_backing(box, plan, profile, creds, timings)
    configure_and_setup(box, plan, profile, options, timings)
    started = time.monotonic()
    with runner.stage(f"systemctl enable --now {' '.join(plan.units)}"):
        complaint = enable_now(box, plan.units)
        if complaint:
            runner.log("    systemctl enable --now failed:\n    " + complaint.replace("\n", "\n    "))
        ready = wait_ready(box, plan)
    timings.ready = time.monotonic() - started
    if not ready:
        runner.log("    not every unit became ready; the suite will say which")
    if plan.units:
        # The settle watch runs in the box while the suite runs (boxprobes).
        box.exec(["sh", "-c", boxprobes.settle_start_script(plan.units, plan.settle)], check=False, timeout=30)
    started = time.monotonic()
    with runner.stage("testinfra suite (phoenix_rpm/infra) over ssh"):
        report.suite = run_suite(box, plan_json, junit)
    timings.testinfra = time.monotonic() - started
    report.memory = unit_memory(box, plan.units)
    return report


def unit_memory(box: Any, units: Sequence[str]) -> dict[str, tuple[float, int]]:
    """RSS (MiB) and process count of each running unit, for the report; {} if it cannot be read."""
    if not units:
        return {}
    proc = inbox.run(box, "unit_memory", json.dumps(list(units)), timeout=60)
    try:
        data = json.loads(proc.stdout or "{}")
    except ValueError:
        return {}
    return {u: (v["rss_kib"] / 1024, v["processes"]) for u, v in data.items() if v.get("processes")}


# Checks whose failure is about one unit: "test_x[<unit>]" names it.
_UNIT_IN_ID = re.compile(r"\[([^\]]+\.service)\]$")


def failed_unit(test_id: str) -> str | None:
    m = _UNIT_IN_ID.search(test_id)
    return m.group(1) if m else None


def format_report(report: VerifyReport) -> str:
    t = report.timings
    phases = [f"boot {t.boot:.1f} s"]
    if t.backing:
        phases.append(f"backing servers {t.backing:.1f} s")
    phases.append(f"install {t.install:.1f} s")
    if t.setup:
        phases.append(f"setup {t.setup:.1f} s")
    phases += [f"service ready {t.ready:.1f} s", f"testinfra {t.testinfra:.1f} s", f"teardown {t.teardown:.1f} s"]
    lines = [
        f"verify {report.plan.package}-{report.plan.version_release}: "
        + ("PASSED" if report.ok else "FAILED"),
        f"  phases: {', '.join(phases)} (total {t.total:.1f} s)",
    ]
    if report.memory:
        lines.append("  memory (RSS after the suite): " + ", ".join(
            f"{u.removesuffix('.service')} {mib:.0f} MiB ({n} process{'es' if n > 1 else ''})"
            for u, (mib, n) in sorted(report.memory.items())))
    if report.plan.needs:
        lines.append(f"  backing servers: {', '.join(report.plan.needs)} (settings in {report.plan.dropin})")
    suite = report.suite
    units_failed: list[str] = []
    if suite is not None:
        lines.append(f"  checks: {suite.passed} passed, {len(suite.failed)} failed, {suite.skipped} skipped "
                     f"of {suite.tests} (junit: {suite.junit})")
        shown_tracebacks: set[str] = set()
        for name, message in suite.failed:
            first = next((ln for ln in message.splitlines() if ln.strip()), "(no message)")
            lines.append(f"  FAILED {name}: {first}")
            unit = failed_unit(name)
            if unit and unit not in units_failed:
                units_failed.append(unit)
            trace = tracebacks.first(message)
            # One traceback per unit is enough: its other failed checks repeat it.
            if trace and (unit or name) not in shown_tracebacks:
                shown_tracebacks.add(unit or name)
                lines += ["      " + ln for ln in tracebacks.excerpt(trace)]
        # Every skip with its reason and what would make the check run: a
        # skip must never read as a pass (docs/verify.md).
        for name, reason in suite.skips:
            lines.append(f"  SKIPPED {name}: {reason or '(no reason given)'}")
    shown = " ".join(reason for _, reason in (suite.skips if suite else []))
    for key, reason in sorted(report.plan.not_checked.items()):
        if key.startswith("http:") and reason not in shown:
            lines.append(f"  NOT CHECKED {key[5:]}: {reason}")
    for note in report.notes:
        lines.append(f"  NOTE {note}")
    for problem in report.problems:
        lines.append(f"  PROBLEM {problem}")
    if units_failed:
        if report.kept is not None:
            lines.append(f"  the box is kept running: log in with  {report.kept.login}")
            lines += [f"    read the whole journal:  journalctl -u {u}" for u in units_failed]
            lines.append(f"    remove the box:  {report.kept.remove}")
        else:
            lines.append("  whole journals: rerun with --keep-box, log in as printed, then "
                         + "; ".join(f"journalctl -u {u}" for u in units_failed))
    elif report.kept is not None:
        lines.append(f"  the box is kept running: {report.kept.login}  (remove: {report.kept.remove})")
    return "\n".join(lines)


def failure_summary(report: VerifyReport) -> str:
    """The CheckFailed message: one line per failed check, naming it."""
    items = list(report.problems)
    if report.suite is not None:
        items += [f"{name}: {next((ln for ln in msg.splitlines() if ln.strip()), '?')}"
                  for name, msg in report.suite.failed]
    return (f"verification of {report.plan.package}-{report.plan.version_release} failed "
            f"({len(items)} problem(s)):\n  " + "\n  ".join(items))


def verify(project_dir: Path, result: BuildResult | None, *, box: str = "nspawn", ops: bool = False,
           dist: Path | None = None, keep_box: bool = False) -> int:
    """``tools/build-rpm --verify``: boot, install, start, test; 0 or CheckFailed.

    ``result`` is the build stage's BuildResult, or None with ``--stage
    verify``: then the newest RPMs in PROJECT_DIR/dist/ are verified.
    """
    from phoenix_rpm import verify_profile

    project_dir = Path(project_dir)
    profile = verify_profile.load(project_dir)
    open_box = box_opener(box, extra=profile.packages, keep=keep_box)
    dist = dist or project_dir / "dist"
    rpms = list(result.rpms if result is not None else []) or newest_rpms(dist)
    plan_model = load_plan(project_dir)
    rpm = main_rpm(rpms, plan_model.name)
    plan = build_verify_plan(plan_model, rpm, profile)
    verify_profile.check_units(profile, plan.wsgi_units, plan.units)
    backing.clients_for(profile, rpm.path)  # a needed client library missing: exit 2 before a box boots
    plan_json = plan.write(dist / "verify-plan.json")
    junit = dist / "verify-junit.xml"
    ops_profile = None
    if ops:
        from phoenix_rpm.ops.profile import load as load_ops_profile

        http = next((h for h in plan.http if h.config_file), None)
        ops_profile = load_ops_profile(project_dir, http.healthcheck if http else "/healthcheck")
    report = verify_rpm(rpm, plan, plan_json, junit, ops_out=dist / "ops-report.json" if ops else None,
                        ops_profile=ops_profile, open_box=open_box, profile=profile)
    runner.log(format_report(report))
    if not report.ok:
        raise CheckFailed(failure_summary(report))
    if report.ops_not_run:
        # The suite passed but what was asked (--ops) could not be done: not
        # a pass (0) and not a failed check (1), a request that does not apply.
        raise UserError(f"--ops: {report.ops_not_run}; the verify suite passed (report above): "
                        "run without --ops")
    return 0


def ops_unsupported(plan: VerifyPlan | SpecPlan) -> str:
    """Why the ops scenarios cannot drive this package ('' when they can).

    They load, fault and restart a phoenix HTTP service through the ports of
    its main config (phoenix_rpm.ops.target_for: an HTTP check with a
    config_file). ``plan`` is a VerifyPlan or, before anything is built, the
    packaging plan.
    """
    if isinstance(plan, VerifyPlan):
        http, name = plan.http, plan.package
    else:
        http, name = http_checks(plan, [s.unit for s in plan.services], plan.config_files), plan.name
    if any(h.config_file for h in http):
        return ""
    found = ", ".join(h.unit for h in http)
    why = (f"{found} serve HTTP on ports found at run time, not from [DEFAULT] port of /etc/{name}/{name}.conf"
           if found else "it has no HTTP service")
    return f"the ops scenarios drive a phoenix HTTP service and {name} has none they can load ({why})"


class Box(Protocol):
    """What the verify stage needs of a booted box.

    BootedBox (box/boot.py, the nspawn box) and VagrantVM (vagrant/driver.py)
    both have it; ``kept``: left running at the end (--keep-box, nspawn only).
    """

    @property
    def name(self) -> str: ...

    @property
    def ssh_host(self) -> str: ...

    @property
    def ssh_config(self) -> Path: ...

    @property
    def kept(self) -> bool: ...

    def exec(self, argv: Sequence[str], *, check: bool = ..., input: str | None = ...,
             timeout: float | None = ...) -> subprocess.CompletedProcess[str]: ...

    def copy_in(self, src: Path, dest: str) -> None: ...


def box_opener(box: str, *, extra: Sequence[str] = (), keep: bool = False) -> Callable[[], ContextManager[Box]]:
    """What ``--box`` boots: a callable returning a context manager that yields the box.

    The verify stage needs of a box only ``name``, ``exec(argv, check=,
    timeout=)``, ``copy_in(src, dest)``, ``ssh_host`` and ``ssh_config``
    (BootedBox's contract). ``nspawn`` is phoenix_rpm.box.booted on the
    cached root (with the ``extra`` packages: the profile's backing
    servers); ``vagrant`` is ``phoenix_rpm.vagrant.booted()`` when that
    module provides one with the same contract. ``keep``: leave the box
    running at the end (``--keep-box``; nspawn only). The Vagrant VM's
    image is made from the root with the same ``extra`` packages.
    """
    if box == "nspawn":
        from phoenix_rpm.box import booted, ensure_root

        return lambda: booted(ensure_root(extra=extra), keep=keep)
    if box == "vagrant":
        if keep:
            raise UserError("--box vagrant: --keep-box needs the nspawn box (a Vagrant VM is always destroyed); "
                            "run tools/build-rpm --verify --keep-box without --box vagrant")
        from phoenix_rpm.vagrant import booted as vagrant_booted

        return lambda: vagrant_booted(extra=extra)
    raise UserError(f"--box {box}: the verify stage needs a booted box; "
                    "run with --box nspawn (the default) or --box vagrant")


def verify_rpm(rpm: RpmInfo, plan: VerifyPlan, plan_json: Path, junit: Path, *,
               ops_out: Path | None = None, ops_profile: Any = None,
               open_box: Callable[[], ContextManager[Box]] | None = None,
               profile: VerifyProfile | None = None,
               installer: Installer | None = None) -> VerifyReport:
    """Boot a fresh box, verify one RPM in it, tear the box down (unless kept).

    ``ops_out``: also run the ops scenarios (``--ops``, phoenix_rpm.ops)
    in the same box once the suite passed, their figures into that JSON file,
    with the project's workload ``ops_profile`` (phoenix_rpm.ops.profile).
    """
    open_box = open_box or box_opener("nspawn", extra=(profile or VerifyProfile()).packages)
    timings = Timings()
    started = time.monotonic()
    runner.log("==> boot a fresh box ...")
    with open_box() as the_box:  # torn down on any exit, Ctrl-C included (unless --keep-box)
        timings.boot = time.monotonic() - started
        runner.log(f"==> box {the_box.name} up in {timings.boot:.1f} s")
        try:
            report = verify_in_box(the_box, rpm, plan, plan_json, junit, timings, profile, installer)
        except CheckFailed as exc:
            if the_box.kept:
                runner.log(f"==> the box is kept running: ssh -F {the_box.ssh_config} {the_box.ssh_host}  "
                           f"(remove: build-rpm box rm --kept {the_box.name})")
            raise exc
        if the_box.kept:
            report.kept = KeptBox(name=the_box.name, ssh_config=str(the_box.ssh_config))
        if ops_out is not None:
            cannot = ops_unsupported(plan)
            if cannot:
                report.ops_not_run = cannot
                report.notes.append(f"ops scenarios not run: {cannot}")
            elif report.ok:
                from phoenix_rpm import ops

                try:
                    ops.run(the_box, plan, report, out=ops_out, profile=ops_profile)
                except CheckFailed as exc:
                    # still a verify report: the summary names what the ops run hit
                    report.problems.append(f"ops: {exc}")
            else:
                report.problems.append("ops scenarios not run: the testinfra suite failed first")
        leaving = time.monotonic()
    timings.teardown = time.monotonic() - leaving
    return report


def box_shell(box: Any, script: str, *, check: bool = True, timeout: float | None = 120) -> str:
    """Run a shell snippet in the box as root; its stdout (for tests and scenarios)."""
    proc = box.exec(["sh", "-c", script], check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise CheckFailed(f"in the box: {script!r} failed (exit {proc.returncode}): "
                          f"{((proc.stderr or '') + (proc.stdout or '')).strip()[-2000:]}")
    return proc.stdout or ""
