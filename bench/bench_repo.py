#!/usr/bin/env python3
"""Time ``--repo`` publishing (1 and 50 versions, incremental vs from scratch) and dnf vs rpm installs.

Usage (from the repository root, as root, box roots cached = "warm"):

    .venv/bin/python bench/bench_repo.py [--rounds 3] [--files 5000] [--skip-install]

Publishing: N versions of a generated noarch package with ``--files`` files
each (apollo's venv has about 5000) are built with the host's rpmbuild and
signed with a throw-away key; then, each timed ``--rounds`` times:

* 1 version into an empty repository (from scratch);
* 50 versions into an empty repository at once (from scratch);
* the 50th version into a repository holding the other 49 (incremental:
  ``createrepo_c --update`` reads only the new package).

Installing: apollo's RPM from dist/ (run ``tools/build-rpm`` first), each
round in a fresh box of the dnf variant: ``rpm -ivh`` of the file copied in,
and ``dnf -y install apollo`` from the signed repository served on the box's
veth (metadata download, key import, signature checks included).

Prints markdown tables for docs/benchmarks.md ("## dnf repositories (issue 14)").
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "phoenix-rpm"))

from phoenix_rpm import dnfverify, repo, runner, sign  # noqa: E402

EPOCH = 1767225600

SPEC = """\
Name:           filler
Version:        {version}
Release:        1
Summary:        A package with many files, for the repository benchmark
License:        MIT
BuildArch:      noarch
AutoReqProv:    no
%global _buildhost reproducible
%global use_source_date_epoch_as_buildtime 1
%global __os_install_post %{{nil}}
%global _binary_payload w1.gzdio

%description
A package with many files, for the repository benchmark.

%install
mkdir -p %{{buildroot}}/usr/lib/filler
cd %{{buildroot}}/usr/lib/filler
seq 1 {files} | awk '{{ d = "d" int($1 / 100)
    if (!(d in made)) {{ system("mkdir -p " d); made[d] = 1 }}
    print "{version} " $1 > (d "/f" $1 ".py") }}'

%files
/usr/lib/filler/
"""


def make_versions(out: Path, count: int, files: int) -> list[Path]:
    made = []
    for n in range(count):
        version = f"1.{n}"
        top = out / f".top-{n}"
        (top / "SPECS").mkdir(parents=True)
        spec = top / "SPECS" / "filler.spec"
        spec.write_text(SPEC.format(version=version, files=files))
        subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", str(spec)], check=True,
                       capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH + n)})
        built = next((top / "RPMS" / "noarch").glob("*.rpm"))
        made.append(Path(shutil.move(built, out / built.name)))
        shutil.rmtree(top)
    return made


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def bench_publish(work: Path, pkgs: list[Path], keyid: str, rounds: int) -> list[tuple[str, list[float]]]:
    rows: list[tuple[str, list[float]]] = []
    one, all50 = [], []
    incremental = []
    for r in range(rounds):
        one.append(timed(lambda r=r: repo.publish(work / f"one-{r}", pkgs[:1], sign=keyid)))
        all50.append(timed(lambda r=r: repo.publish(work / f"all-{r}", pkgs, sign=keyid)))
        target = work / f"inc-{r}"
        repo.publish(target, pkgs[:-1], sign=keyid)
        incremental.append(timed(lambda target=target: repo.publish(target, pkgs[-1:], sign=keyid)))
    rows.append(("1 version, from scratch", one))
    rows.append((f"{len(pkgs)} versions, from scratch", all50))
    rows.append((f"{len(pkgs)}th version into {len(pkgs) - 1} (incremental)", incremental))
    return rows


def bench_install(rpm_path: Path, keyid: str, rounds: int, work: Path) -> list[tuple[str, list[float]]]:
    from phoenix_rpm.box import booted

    published = repo.publish(work / "fleet", [rpm_path], sign=keyid)
    rpm_times, dnf_times = [], []
    for _ in range(rounds):
        with booted(dnfverify.dnf_root()) as box:
            box.copy_in(rpm_path, f"/root/rpms/{rpm_path.name}")
            rpm_times.append(timed(lambda: box.exec(["rpm", "-ivh", f"/root/rpms/{rpm_path.name}"], timeout=600)))
        with booted(dnfverify.dnf_root()) as box, dnfverify.serving(box, published.repo_dir) as url:
            dnfverify.configure(box, published, url)
            dnf_times.append(timed(lambda: dnfverify.dnf_install(box, "apollo")))
    return [(f"rpm -ivh {rpm_path.name}", rpm_times),
            ("dnf install apollo (signed repo over HTTP: metadata, key import, gpgcheck)", dnf_times)]


def table(title: str, rows: list[tuple[str, list[float]]]) -> str:
    lines = [f"| {title} | median s | min s | max s | rounds |", "|---|---|---|---|---|"]
    for name, values in rows:
        lines.append(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | "
                     f"{max(values):.2f} | {len(values)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--skip-install", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-repo-") as tmp:
        work = Path(tmp)
        home = Path("/run") / f"phoenix-bench-gpg-{os.getpid()}"
        home.mkdir(mode=0o700)
        os.environ["GNUPGHOME"] = str(home)
        try:
            uid = "Phoenix Bench <bench@example.org>"
            subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "rsa2048", "sign",
                            "never"], check=True, capture_output=True)
            runner.log(f"==> building {args.versions} versions of a {args.files}-file package")
            pkgs = make_versions(work / "pkgs", args.versions, args.files)
            sign.sign(pkgs, uid, epoch=EPOCH)
            size = pkgs[0].stat().st_size / 1e6
            print(table(f"publish (signed; {args.files} files, {size:.1f} MB per package)",
                        bench_publish(work, pkgs, uid, args.rounds)))
            if not args.skip_install:
                rpms = sorted(p for p in (ROOT / "dist").glob("apollo-*.rpm") if not p.name.endswith(".src.rpm"))
                if not rpms:
                    print("no dist/apollo-*.rpm: run tools/build-rpm --sign KEY first", file=sys.stderr)
                    return 2
                signed = work / rpms[-1].name
                shutil.copy2(rpms[-1], signed)
                sign.sign([signed], uid, epoch=EPOCH)
                print()
                print(table("install in a fresh dnf box", bench_install(signed, uid, args.rounds, work)))
        finally:
            subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True)
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
