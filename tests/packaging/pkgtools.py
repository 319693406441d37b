"""Helpers for the generate-stage tests: fixture copies, the CLI, reading what was generated.

Tests read generated files the way a user or rpm would (rpmspec, specfile,
systemd-analyze, an ini parser for units), not by comparing whole strings.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data"
PYTHON = REPO / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)
EPOCH = "1700000000"  # Tue Nov 14 2023


def copy_fixture(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(FIXTURES / name, target)
    return target


def build_rpm(*args: str | os.PathLike[str], env: dict[str, str] | None = None,
              shim: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CLI: through tools/build-rpm (``shim``) or the module it executes."""
    argv = [str(REPO / "tools" / "build-rpm")] if shim else [str(PYTHON), "-m", "phoenix_rpm.cli"]
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    return subprocess.run([*argv, *map(str, args)], capture_output=True, text=True, env=full_env, cwd=REPO,
                          timeout=300)


def run(*argv: str | os.PathLike[str], cwd: Path | None = None, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd, env=full_env,
                          timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def rpmspec_parsed(spec: Path) -> str:
    """The spec after macro expansion on this host (Debian's rpm: our fallbacks at work)."""
    return run("rpmspec", "-P", spec).stdout


def section(parsed: str, name: str) -> list[str]:
    """Lines of one %section of an expanded spec (until the next section header)."""
    headers = re.compile(r"^%(description|prep|build|install|check|pre|post|preun|postun|pretrans|posttrans|"
                         r"files|changelog|package)\b")
    out: list[str] = []
    inside = False
    for line in parsed.splitlines():
        if headers.match(line):
            inside = line.split()[0] == f"%{name}"
            continue
        if inside and line.strip():
            out.append(line.strip())
    return out


def rpmspec_query(spec: Path, *args: str) -> list[str]:
    return [line for line in run("rpmspec", "-q", *args, spec).stdout.splitlines() if line.strip()]


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values]}} (keys may repeat in systemd)."""
    out: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path}: key before any section: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return out


def exposure(unit: Path) -> float:
    """systemd-analyze's overall exposure score of a unit file (0 = locked down, 10 = none)."""
    proc = run("systemd-analyze", "security", "--offline=true", "--no-pager", unit, check=False)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout + proc.stderr)
    assert m, f"no score from systemd-analyze for {unit}:\n{proc.stdout}\n{proc.stderr}"
    return float(m.group(1))


def verify_units(units: list[Path], tmp: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` under a throw-away root.

    verify checks that ExecStart's program exists and that the targets the
    unit names exist: a temporary root holds the host's unit folder, kill, and
    an executable stub at each ExecStart path, so a unit that will only exist
    once the RPM is installed can be verified here without touching the host.
    """
    root = tmp / "verify-root"
    unit_dir = root / "usr" / "lib" / "systemd" / "system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for target in Path("/usr/lib/systemd/system").glob("*.target"):
        shutil.copy(target, unit_dir / target.name, follow_symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    if not (root / "bin").exists():
        (root / "bin").symlink_to("usr/bin")
    shutil.copy("/usr/bin/kill", root / "usr" / "bin" / "kill")
    names = []
    for unit in units:
        shutil.copy(unit, unit_dir / unit.name)
        names.append(unit.name)
        for key, values in read_unit(unit)["Service"].items():
            if key.startswith("Exec"):
                for value in values:
                    program = value.split()[0].lstrip("-@:+!")
                    stub = root / program.lstrip("/")
                    if not stub.exists():
                        stub.parent.mkdir(parents=True, exist_ok=True)
                        stub.write_text("#!/bin/sh\n")
                        stub.chmod(0o755)
    return run("systemd-analyze", "verify", f"--root={root}", *names, check=False)
