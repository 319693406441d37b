"""``tools/build-rpm --verify --repo DIR``: install through dnf, the way a fleet does.

The rpm verification (verify.py) proves ``rpm -ivh`` of a file; a fleet
points dnf at a repository instead. This stage boots the box variant that has
dnf (a derived root: dnf_root()), serves the published repository over HTTP on
the box's own network (reposerve.py in the peer namespace of its veth pair,
bound to that address only), drops the repository's ``.repo`` file into
``/etc/yum.repos.d/`` with its base URL pointed there, and runs exactly
``dnf -y install <name>``: gpgcheck=1 and repo_gpgcheck=1 when the repository
is signed. Then verify.py's own steps (profile, backing servers, suite),
with dnf as the installer, plus a repoclosure over the repository against
the box's base system (docs/repo.md).

The phases are public functions (``serving``, ``configure``, ``dnf``,
``dnf_install``, ``repoclosure``) because the upgrade, tamper and bundled
tests drive them in other orders.
"""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from phoenix_rpm import runner
from phoenix_rpm import verify as rpmverify
from phoenix_rpm.build import BuildResult
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.generate import load_plan
from phoenix_rpm.repo import PublishResult
from phoenix_rpm.verify_plan import RpmInfo, VerifyPlan, build_verify_plan
from phoenix_rpm.verify_profile import VerifyProfile

REPOS_D = "/etc/yum.repos.d"
SERVER_START_TIMEOUT = 15.0

# What dnf says when a signature or checksum does not hold; the report quotes
# these lines so the reason is named, not buried in dnf's whole output.
_ALARMS = ("gpg", "signature", "checksum", "digest", "public key", "not signed", "error", "failed",
           "problem", "nothing provides", "no match")


# What the box root has on top of the plain one to verify through dnf: Debian
# 12 packages dnf 4.14 and its plugins (repoquery). Derived from the plain
# root and cached under its own key (box/root.py, ensure_root(extra=)).
DNF_EXTRA = ("dnf", "dnf-plugins-core")


def dnf_root(extra: tuple[str, ...] = ()) -> Path:
    """The cached box root with dnf (plus ``extra``: a verify profile's backing servers)."""
    from phoenix_rpm.box.root import ensure_root

    return ensure_root(extra=(*DNF_EXTRA, *extra))


def peer_address(box: Any) -> str:
    """The host side of the box's veth pair: .1 of the box's /24 (box/netns.py addresses_for)."""
    return str(box.address).rsplit(".", 1)[0] + ".1"


@contextlib.contextmanager
def serving(box: Any, repo_dir: Path, log: Path | None = None) -> Iterator[str]:
    """Serve ``repo_dir`` to the box over HTTP from the peer namespace; yields the base URL."""
    address = peer_address(box)
    with contextlib.ExitStack() as stack:
        log_handle = stack.enter_context(open(log, "w")) if log else subprocess.DEVNULL
        proc = stack.enter_context(runner.spawn(
            box.host_argv([sys.executable, "-m", "phoenix_rpm.reposerve", address, str(repo_dir)]),
            stderr=log_handle, note="the repository's HTTP server", stop=_stop_server))
        port = _read_port(proc)
        url = f"http://{address}:{port}"
        runner.log(f"    serving {repo_dir} at {url} (only on the box's veth)")
        yield url


def _stop_server(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _read_port(proc: subprocess.Popen[Any]) -> int:
    import select

    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], SERVER_START_TIMEOUT)
    line = proc.stdout.readline().strip() if ready else ""
    if not line.isdigit():
        proc.kill()
        raise CheckFailed(f"the repository server did not start (exit {proc.poll()}); "
                          "run with --verbose to see why")
    return int(line)


def configure(box: Any, published: Any, url: str) -> str:
    """Install the repository's .repo file in the box, pointed at ``url``; returns its path."""
    from phoenix_rpm import repo

    path = f"{REPOS_D}/{published.repo_id}.repo"
    box.exec(["mkdir", "-p", REPOS_D, "/etc/dnf/vars"])
    # Debian has no system-release package for dnf to read $releasever from:
    # say it, so the plain `dnf install` an admin types works (docs/repo.md).
    box.exec(["sh", "-c", "[ -s /etc/dnf/vars/releasever ] || echo 9 > /etc/dnf/vars/releasever"])
    # Debian's dnf-plugins-core enables the 'local' plugin, which adds a
    # repository of its own (_dnf_local, gpgcheck=1 and no key) that fails
    # every install; a RHEL-family host does not have it.
    box.exec(["sh", "-c", "f=/etc/dnf/plugins/local.conf; [ ! -f $f ] || "
              "sed -i 's/^enabled *=.*/enabled = false/' $f"])
    box.exec(["sh", "-c", f"cat > {path}"], input=repo.client_repo_file(published, url))
    return path


def dnf(box: Any, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``dnf -y ARGS`` in the box, as an admin types it (never raises)."""
    proc: subprocess.CompletedProcess[str] = box.exec(["dnf", "-y", *args], check=False, timeout=timeout)
    return proc


# dnf's chatter about a key it imports: not a reason.
_CHATTER = ("importing gpg key", "userid", "fingerprint", "from  ", "key imported")


def alarm_lines(proc: subprocess.CompletedProcess[str], limit: int = 6) -> list[str]:
    """dnf's lines that say what went wrong (signature, checksum, resolution), each once."""
    lines = ((proc.stderr or "") + "\n" + (proc.stdout or "")).splitlines()
    hits: list[str] = []
    for line in (raw.strip() for raw in lines):
        low = line.lower()
        if line and line not in hits and any(w in low for w in _ALARMS) and not low.startswith(_CHATTER):
            hits.append(line)
    return hits[:limit] or [line.strip() for line in lines if line.strip()][-limit:]


def dnf_install(box: Any, *args: str, action: str = "install") -> subprocess.CompletedProcess[str]:
    """``dnf -y <action> ARGS``; CheckFailed quoting dnf's own reason when it fails."""
    proc = dnf(box, action, *args)
    if proc.returncode != 0:
        raise CheckFailed(f"dnf {action} {' '.join(args)} failed in the box (exit {proc.returncode}): "
                          + " | ".join(alarm_lines(proc)))
    return proc


_CLOSURE = r"""
import json, sys
import dnf
base = dnf.Base()
base.conf.read()
base.conf.substitutions.update_from_etc("/")
base.read_all_repos()
base.fill_sack(load_system_repo=True)
everything = base.sack.query()
out = {}
for pkg in everything.available().filter(reponame=sys.argv[1]):
    missing = []
    for req in pkg.requires:
        text = str(req)
        if text.startswith(("rpmlib(", "solvable:")):
            continue
        if not everything.filter(provides=req):
            missing.append(text)
    out[str(pkg)] = missing
print(json.dumps(out))
"""


def repoclosure(box: Any, repo_id: str) -> dict[str, list[str]]:
    """Every package of the repository -> its requires that nothing provides.

    What ``dnf repoclosure`` does, except that the installed system counts
    as a provider too: the repository must close over the box's base system
    (phoenix-box-base in its rpmdb) plus itself, which repoclosure, looking
    at repositories only, cannot express.
    """
    proc = box.exec(["python3", "-c", _CLOSURE, repo_id], check=False, timeout=300)
    if proc.returncode != 0:
        raise CheckFailed(f"repoclosure over {repo_id} could not run in the box: "
                          f"{(proc.stderr or proc.stdout).strip()[-1500:]}")
    found: dict[str, list[str]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def verify(project_dir: Path, result: BuildResult, published: PublishResult, *, keep_box: bool = False) -> int:
    """Boot the dnf box, serve the repository, dnf install, then verify.py's steps and repoclosure.

    The project's verify profile (backing servers, setup, checks) applies as
    with ``rpm -ivh``; ``keep_box`` leaves the box running (``--keep-box``).
    """
    from phoenix_rpm import verify_profile

    project_dir = Path(project_dir)
    dist = project_dir / "dist"
    profile = verify_profile.load(project_dir)
    plan_model = load_plan(project_dir)
    rpm = rpmverify.main_rpm(list(result.rpms), plan_model.name)
    plan = build_verify_plan(plan_model, rpm, profile)
    verify_profile.check_units(profile, plan.wsgi_units, plan.units)
    plan_json = plan.write(dist / "verify-plan.json")
    junit = dist / "verify-junit.xml"
    report = verify_through_dnf(rpm, plan, plan_json, junit, published, server_log=dist / "repo-http.log",
                                profile=profile, keep_box=keep_box)
    runner.log(rpmverify.format_report(report))
    if not report.ok:
        raise CheckFailed(rpmverify.failure_summary(report))
    return 0


def verify_through_dnf(rpm: RpmInfo, plan: VerifyPlan, plan_json: Path, junit: Path, published: PublishResult, *,
                       server_log: Path | None = None, profile: VerifyProfile | None = None,
                       keep_box: bool = False) -> rpmverify.VerifyReport:
    """One fresh dnf box: ``dnf install`` the package from ``published``, then as verify.py.

    The repository is served only while dnf needs it: the install, and the
    repoclosure right after it (the problems it finds join the report).
    """
    from phoenix_rpm.box import booted

    extra = profile.packages if profile is not None else ()
    closure: dict[str, list[str]] = {}
    checks = "gpgcheck=1 repo_gpgcheck=1" if published.key_file else "unsigned"

    def install(box: Any, rpm_path: Path) -> None:
        with serving(box, published.repo_dir, server_log) as url:
            configure(box, published, url)
            dnf_install(box, rpm.name)
            closure.update(repoclosure(box, published.repo_id))
        runner.log(f"    repoclosure of {published.repo_id} against the box's base system: {len(closure)} "
                   f"packages, {sum(1 for m in closure.values() if m)} with unresolved requires")

    try:
        report = rpmverify.verify_rpm(
            rpm, plan, plan_json, junit, profile=profile,
            open_box=lambda: booted(dnf_root(extra), keep=keep_box),
            installer=(f"dnf install {rpm.name} from {published.repo_id} ({checks})", install))
    except CheckFailed as exc:      # dnf refused: its reason is the report
        report = rpmverify.VerifyReport(plan=plan, timings=rpmverify.Timings())
        report.problems.append(str(exc))
        return report
    for pkg, missing in sorted(closure.items()):
        if missing:
            report.problems.append(f"repoclosure: {pkg} requires {', '.join(missing)}, "
                                   "which neither the box's base system nor the repository provides")
    return report
