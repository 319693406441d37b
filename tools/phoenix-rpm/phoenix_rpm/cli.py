"""``tools/build-rpm``: the command-line contract of docs/architecture.md.

Parses arguments, runs the stages in order and turns every ToolkitError into
one line on stderr and its exit status (0 ok, 1 a check failed, 2 bad input).
Stage logic lives in its own module; this file only wires them together.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from phoenix_rpm import runner
from phoenix_rpm.errors import UserError, report_errors

STAGES = ("generate", "build", "lint", "verify")

DESCRIPTION = """\
Generate the systemd units and the .spec of a pbr project from its setup.cfg,
build the SRPM and RPM in a clean box, lint them with rpmlint and, with
--verify, install them in a freshly booted box and test the running services.

stages, in order (each can run alone with --stage):
  generate   setup.cfg -> rpm/<name>.spec, systemd/*.service, sysusers/tmpfiles
  build      sdist (pbr) -> SRPM -> rpmbuild --rebuild in a clean box -> dist/
  lint       rpmlint on the spec, the SRPM and the RPMs
  verify     boot a box, rpm -ivh, systemctl enable --now, testinfra suite

boxes (clean build and verification roots, cached):
  tools/build-rpm box create|list|rm     see: tools/build-rpm box --help
"""

EPILOG = """\
examples:
  tools/build-rpm                       generate + build + lint the project you stand in
  tools/build-rpm --verify              ... and verify in a booted box
  tools/build-rpm --stage generate      only write rpm/ and systemd/
  tools/build-rpm --check               exit 1 with a diff when rpm/ or systemd/ drift
  tools/build-rpm ~/src/myservice       package another pbr project
  tools/build-rpm --sign KEYID --repo /srv/repo    publish into a signed dnf repository
  tools/build-rpm --verify --repo /srv/repo        ... and verify through dnf install

exit status: 0 success, 1 a check failed (lint, drift, verification),
             2 bad input or usage.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tools/build-rpm",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "project_dir", nargs="?", default=None, metavar="PROJECT_DIR",
        help="the pbr project to package (default: the current folder or its nearest "
        "parent holding setup.cfg or pyproject.toml)",
    )
    parser.add_argument("--stage", choices=STAGES, help="run only this stage")
    parser.add_argument(
        "--check", action="store_true",
        help="exit 1 with a diff when the committed rpm/ and systemd/ files "
        "differ from what setup.cfg generates now; writes nothing",
    )
    parser.add_argument(
        "--verify", action="store_true",
        help="after build and lint, verify the RPM in a freshly booted box "
        "(junit XML in dist/verify-junit.xml)",
    )
    parser.add_argument(
        "--ops", action="store_true",
        help="with --verify: also run the load/fault/least-privilege scenarios",
    )
    parser.add_argument(
        "--keep-box", action="store_true",
        help="with --verify: leave the box running at the end and print how to log in "
        "(ssh -F ... <box>; journalctl -u <unit>) and how to remove it",
    )
    parser.add_argument(
        "--box", choices=("nspawn", "host", "vagrant"), default="nspawn",
        help="where to build and verify: a systemd-nspawn box (default), the "
        "host itself (build only), or a Vagrant VM (verify)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text",
        help="with --stage generate: print the decisions (services, tools and why, units, "
        "servers, config files) as a table (text) or as JSON on stdout",
    )
    parser.add_argument("--sign", metavar="KEYID", help="sign the RPMs with rpmsign --addsign "
                        "(with --repo: also the repository metadata)")
    parser.add_argument(
        "--repo", metavar="DIR",
        help="after build and lint, publish the SRPM and RPMs into the dnf repository at DIR "
        "(createrepo_c; DIR/<DIR name>.repo for clients); with --verify, install through dnf",
    )
    parser.add_argument("--repo-keep", metavar="N", type=int, default=None,
                        help="with --repo: keep only the N newest versions of each package")
    parser.add_argument("--repo-url", metavar="URL", default=None,
                        help="with --repo: the base URL clients reach DIR at, for the .repo file "
                        "(default: file://DIR)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every command run")
    return parser


PROJECT_FILES = ("setup.cfg", "pyproject.toml")


def default_project_dir(start: Path | None = None) -> Path:
    """The project you stand in: the current folder or its nearest parent with a
    setup.cfg or pyproject.toml (the way git finds its repository).

    Never this toolkit's own checkout by accident: run from a user's project,
    build-rpm packages that project.
    """
    here = (start or Path.cwd()).resolve()
    found = nearest_project(here)
    if found is not None:
        return found
    raise UserError(f"{here}: no setup.cfg or pyproject.toml here or in any parent folder; "
                    "run build-rpm inside a pbr project or pass its folder (build-rpm PROJECT_DIR)")


def nearest_project(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding a setup.cfg or pyproject.toml."""
    for folder in (start, *start.parents):
        if any((folder / name).is_file() for name in PROJECT_FILES):
            return folder
    return None


def explicit_project_dir(given: str) -> Path:
    """A PROJECT_DIR argument, checked: a folder without a project names the parent that has one."""
    project_dir = Path(given).resolve()
    if not project_dir.is_dir():
        raise UserError(f"{project_dir}: no such project directory; pass the folder holding setup.cfg")
    if not any((project_dir / name).is_file() for name in PROJECT_FILES):
        parent = nearest_project(project_dir.parent)
        if parent is not None:
            raise UserError(f"{project_dir / 'setup.cfg'}: no setup.cfg or pyproject.toml in {project_dir}; "
                            f"the nearest parent folder with one is {parent}: run build-rpm {parent}")
    return project_dir


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["box"]:
        from phoenix_rpm.box.cli import main as box_main

        return box_main(args_list[1:])

    def body() -> int:
        args = build_parser().parse_args(args_list)
        runner.set_verbose(args.verbose)
        return run_stages(args)

    return report_errors("build-rpm", body)


def run_stages(args: argparse.Namespace) -> int:
    project_dir = explicit_project_dir(args.project_dir) if args.project_dir else default_project_dir()
    # The first line says which project this run packages: with no folder
    # given it is found from the current one, which must never be a surprise.
    found = [name for name in PROJECT_FILES if (project_dir / name).is_file()]
    runner.log(f"==> project {project_dir} ({', '.join(found) or 'no setup.cfg'})")
    if args.ops and not args.verify and args.stage != "verify":
        raise UserError("--ops goes with --verify: run tools/build-rpm --verify --ops")
    if args.keep_box and not args.verify and args.stage != "verify":
        raise UserError("--keep-box goes with --verify: run tools/build-rpm --verify --keep-box")
    if args.ops and args.box == "vagrant":
        # checked before the build: the scenarios need the box's own network
        # namespace, a VM has only two forwarded loopback ports
        raise UserError("--ops needs the nspawn box (its own network namespace); "
                        "run tools/build-rpm --verify --ops without --box vagrant")
    if args.ops:
        # A broken workload profile is the project's mistake: say so before the build.
        from phoenix_rpm.ops.profile import load as load_ops_profile

        load_ops_profile(project_dir)

    if args.verify or args.stage == "verify":
        # A wrong verify profile is bad input: said (exit 2) before minutes of building.
        from phoenix_rpm import verify_profile

        verify_profile.load(project_dir)

    if (args.repo_keep is not None or args.repo_url) and not args.repo:
        raise UserError("--repo-keep and --repo-url go with --repo DIR")
    if args.repo and args.stage not in (None,):
        raise UserError("--repo publishes after build and lint: run it without --stage")
    if args.repo and args.ops:
        raise UserError("--ops runs after rpm -ivh; verify through dnf (--repo) without --ops, "
                        "or run --verify --ops without --repo")
    if args.repo and args.box == "vagrant":
        raise UserError("--verify --repo needs the nspawn box (it serves the repository on the box's "
                        "own network): run without --box vagrant")
    if args.repo:
        from phoenix_rpm import repo

        # Before the build: a missing key or a read-only folder costs nothing.
        repo.preflight(Path(args.repo), args.sign, args.repo_keep, args.repo_url)
    elif args.sign:
        from phoenix_rpm import sign as signing

        signing.require_key(args.sign)

    from phoenix_rpm import generate

    if args.ops:
        # Said before anything is built: the scenarios cannot drive every
        # service; the build and the verify suite still run and report.
        from phoenix_rpm.verify import ops_unsupported

        cannot = ops_unsupported(generate.load_plan(project_dir))
        if cannot:
            runner.log(f"==> --ops: {cannot}; building and verifying without them (exit 2 if all else passes)")

    if args.check:
        return generate.check(project_dir)
    if args.stage == "generate":
        generate.write(project_dir)
        from phoenix_rpm import decisions

        plan = generate.load_plan(project_dir)
        sys.stdout.write(decisions.as_json(plan) if args.format == "json" else decisions.as_table(plan))
        return 0
    if args.stage in (None, "build"):
        # Units and spec follow setup.cfg before every build; a version-only
        # difference (a new commit) is left out of the tree: the build renders
        # the spec it builds with the current version itself.
        generate.write(project_dir, keep_version=True)

    from phoenix_rpm import build, lint

    result = None
    if args.box == "host":  # the user chose to run everything on the host (specbox.py)
        os.environ["PHOENIX_SPEC_PARSE"] = "host"
    with lint.Prelint(project_dir) as prelint:
        # Build and lint both run: the spec and the SRPM are linted while the
        # box builds the RPM (lint.Prelint); the lint stage adds the RPMs.
        early = prelint.start if args.stage is None and not args.sign else None
        if args.stage in (None, "build"):
            result = build.build(project_dir, box=args.box, sign=args.sign, on_srpm=early)
        if args.stage in (None, "lint"):
            lint.lint(project_dir, result, prelint=prelint)
    published = None
    if args.repo and result is not None:
        from phoenix_rpm import repo

        published = repo.publish(Path(args.repo), result.packages, sign=args.sign, keep=args.repo_keep,
                                 base_url=args.repo_url)
    if args.verify or args.stage == "verify":
        from phoenix_rpm import verify

        if published is not None and result is not None:  # published: built just now
            from phoenix_rpm import dnfverify

            return dnfverify.verify(project_dir, result, published, keep_box=args.keep_box)
        return verify.verify(project_dir, result, box=args.box, ops=args.ops, keep_box=args.keep_box)
    return 0


if __name__ == "__main__":
    sys.exit(main())
