"""Time the generate stage on a synthetic project: 50 entry points, 200 data files.

Usage: .venv/bin/python bench/bench_generate.py [--runs N]

Builds the project in a temporary folder (25 services, 25 tools, one module
each; 200 data files over config, a 'dir/*' tree and plain share/ targets),
then times ``generate.write`` (parse + plan + render + write) cold and warm,
and ``generate.check``. PBR_VERSION is set so the figure measures the
toolkit, not git: on a git checkout pbr's version lookup adds its own time
(shown separately).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "phoenix-rpm"))  # the toolkit

from phoenix_rpm import generate  # noqa: E402

TARGET_S = 0.2


def make_project(root: Path, entry_points: int = 50, data_files: int = 200) -> Path:
    project = root / "bench"
    pkg = project / "bench" / "cmd"
    pkg.mkdir(parents=True)
    (project / "bench" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    scripts = []
    for i in range(entry_points):
        kind = "api" if i % 2 == 0 else "manage"
        name = f"bench{i:02d}-{kind}"
        (pkg / f"m{i:02d}.py").write_text(
            "from phoenix.server import eventlet\n\n\ndef main():\n    eventlet.run()\n" if kind == "api"
            else "def main():\n    print('tool')\n")
        scripts.append(f"    {name} = bench.cmd.m{i:02d}:main")
    conf = project / "etc" / "bench"
    tree = project / "tree"
    share = project / "share"
    for folder in (conf, tree, share):
        folder.mkdir(parents=True)
    (conf / "bench.conf").write_text("[DEFAULT]\ngraceful_shutdown_timeout = 30\nlog_dir = /var/log/bench\n")
    n_conf, n_tree = 40, 80
    n_share = data_files - 1 - n_conf - n_tree
    for i in range(n_conf):
        (conf / f"conf{i:03d}.ini").write_text(f"[DEFAULT]\nk = {i}\n")
    for i in range(n_tree):
        sub = tree / f"d{i % 8}"
        sub.mkdir(exist_ok=True)
        (sub / f"t{i:03d}.txt").write_text(str(i))
    for i in range(n_share):
        (share / f"s{i:03d}.dat").write_text(str(i))
    data_lines = ["    etc/bench =", "        etc/bench/bench.conf"]
    data_lines += [f"        etc/bench/conf{i:03d}.ini" for i in range(n_conf)]
    data_lines += ["    share/bench/tree = tree/*", "    share/bench/data ="]
    data_lines += [f"        share/s{i:03d}.dat" for i in range(n_share)]
    (project / "setup.cfg").write_text(
        "[metadata]\nname = bench\nsummary = Synthetic benchmark project\nlicense = Apache-2.0\n\n"
        "[files]\npackages = bench\ndata_files =\n" + "\n".join(data_lines) + "\n\n"
        "[entry_points]\nconsole_scripts =\n" + "\n".join(scripts) + "\n")
    return project


def timed(fn, runs: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    os.environ["PBR_VERSION"] = "1.0.0"
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp))
        plan = generate.load_plan(project)
        assert len(plan.services) + len(plan.tools) == 50
        n_data = len(plan.files) + len(plan.data_files)
        assert n_data == 200, n_data
        import phoenix_rpm.runner as runner
        runner.log = lambda msg: None  # keep the figures on stdout readable
        first = timed(lambda: generate.write(project), 1)[0]
        warm = timed(lambda: generate.write(project), args.runs)
        plan_only = timed(lambda: generate.load_plan(project), args.runs)
        check = timed(lambda: generate.check(project), args.runs)
        files = len(plan.generated_files)
        cli = timed(lambda: subprocess.run(
            [sys.executable, "-m", "phoenix_rpm.cli", "--stage", "generate", str(project)],
            check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1]), 3)
    med = statistics.median(warm)
    print(f"project: 50 entry points ({len(plan.services)} services, {len(plan.tools)} tools), "
          f"{n_data} data files -> {files} generated files")
    print(f"generate.write, first run:       {first * 1000:7.1f} ms")
    print(f"generate.write, median of {args.runs:<3}:   {med * 1000:7.1f} ms  (min {min(warm) * 1000:.1f}, "
          f"max {max(warm) * 1000:.1f})")
    print(f"load_plan only, median:          {statistics.median(plan_only) * 1000:7.1f} ms")
    print(f"generate.check, median:          {statistics.median(check) * 1000:7.1f} ms")
    print(f"whole CLI process (python start, imports, generate), median of 3: "
          f"{statistics.median(cli) * 1000:.0f} ms")
    print(f"target < {TARGET_S * 1000:.0f} ms: {'met' if med < TARGET_S else 'NOT met'}")
    return 0 if med < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
