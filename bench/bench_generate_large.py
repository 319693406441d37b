"""Time the generate stage on a large project: 50,000 data_files lines, 2,000 entry points.

Usage: .venv/bin/python bench/bench_generate_large.py [--lines 50000] [--entry-points 2000] [--runs 3]

Why: the generate stage must be linear in the size of its inputs (issue 11):
a generated data_files section of tens of thousands of lines once took
minutes because each line was looked up in setup.cfg from the top. The
project is made in a temporary folder (one file per data_files line, in
folders of 1,000, under share/ and etc/<name>/; 20 services and the rest
tools, all in one module), then ``generate.write`` (parse + validate + plan +
render + write) is timed. Target: under 2 s. PBR_VERSION is set so the
figure measures the toolkit, not git. Prints one line per run and the median.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "phoenix-rpm"))  # the toolkit

from phoenix_rpm import generate, setupcfg, spec  # noqa: E402

TARGET_S = 2.0


def make_project(root: Path, lines: int, entry_points: int) -> Path:
    project = root / "big"
    (project / "big").mkdir(parents=True)
    (project / "big" / "__init__.py").write_text("")
    (project / "big" / "cli.py").write_text("def main():\n    pass\n")
    data = ["data_files ="]
    per_dir = 1000
    for i in range(lines):
        folder = f"share/big/d{i // per_dir:03d}"
        if i % per_dir == 0:
            (project / folder).mkdir(parents=True)
            data.append(f"    {folder} =")
        rel = f"{folder}/f{i:05d}.txt"
        (project / rel).write_text("x\n")
        data.append(f"        {rel}")
    (project / "etc" / "big").mkdir(parents=True)
    (project / "etc" / "big" / "big.conf").write_text("[DEFAULT]\n")
    data += ["    etc/big =", "        etc/big/big.conf"]
    scripts = [f"    big{i:04d}-{'api' if i < 20 else 'manage'} = big.cli:main" for i in range(entry_points)]
    (project / "setup.cfg").write_text(
        "[metadata]\nname = big\nsummary = Big benchmark project\nlicense = MIT\n\n"
        "[files]\npackages = big\n" + "\n".join(data) + "\n\n"
        "[entry_points]\nconsole_scripts =\n" + "\n".join(scripts) + "\n")
    return project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--entry-points", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["PBR_VERSION"] = "1.0.0"
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    times = []
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-large-") as tmp:
        t0 = time.perf_counter()
        project = make_project(Path(tmp), args.lines, args.entry_points)
        print(f"project made in {time.perf_counter() - t0:.1f} s: {args.lines} data_files lines, "
              f"{args.entry_points} entry points")
        for run in range(args.runs):
            spec._ENVIRONMENTS.clear()  # noqa: SLF001  (cold templates and parse each run)
            setupcfg._PARSED.clear()  # noqa: SLF001
            for generated in (project / "rpm", project / "systemd"):
                for f in generated.glob("*") if generated.is_dir() else []:
                    f.unlink()
            t0 = time.perf_counter()
            files = generate.write(project)
            times.append(time.perf_counter() - t0)
            print(f"run {run + 1}: generate.write {times[-1]:.2f} s ({len(files)} files)")
    median = statistics.median(times)
    print(f"median {median:.2f} s (target < {TARGET_S:.0f} s): {'OK' if median < TARGET_S else 'TOO SLOW'}")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
