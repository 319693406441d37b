"""``tools/build-rpm box ...``: create, list and remove the cached box roots.

The box is the clean Debian 12 root every build and verification runs in
(see docs/box.md). These subcommands make its cache visible and manageable;
``boot`` and ``run`` are for debugging a packaging problem by hand.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Sequence

from phoenix_rpm import runner
from phoenix_rpm.box import booted, ensure_root, lease, root, run_in, throwaway
from phoenix_rpm.box.overlay import leased_overlay
from phoenix_rpm.errors import UserError, report_errors

DESCRIPTION = """\
Manage the box: a Debian 12 (bookworm) root made once with debootstrap and
cached under /var/cache/phoenix/boxes/<key>/root, where <key> is a hash of its
package list and recipe. Builds run in a throw-away overlay of it with
systemd-nspawn and no network; verification boots a throw-away overlay with
systemd as PID 1, in a network namespace of its own, reachable over ssh.

subcommands:
  create [--refresh]   make the cached root now (about 90 s the first time;
                       instant when cached); --refresh rebuilds it
  list                 cached roots (key, size, age) and boxes in use
  rm KEY | --all       delete cached roots (KEY may be a unique prefix)
  rm --leftovers       only remove what crashed runs left (mounts, netns, containers)
  boot [--ssh-config FILE]
                       boot a throw-away box and keep it until Ctrl-C; prints
                       how to ssh in
  run [--network] -- CMD...
                       run one command in a throw-away copy (no network unless
                       --network)
  bench [--rounds N]   time overlay creation, a command in a copy and
                       boot-to-ssh (the figures of docs/benchmarks.md)
"""

EPILOG = """\
examples:
  tools/build-rpm box create
  tools/build-rpm box list
  tools/build-rpm box boot --ssh-config /var/tmp/box.ssh   # then: ssh -F /var/tmp/box.ssh <name>
  tools/build-rpm box run -- rpm -q phoenix-box-base
  tools/build-rpm box rm --leftovers
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tools/build-rpm box", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="show every command run")
    sub = parser.add_subparsers(dest="command", metavar="{create,list,rm,boot,run,bench}")
    create = sub.add_parser("create", help="make the cached root (debootstrap) unless cached")
    create.add_argument("--refresh", action="store_true", help="throw the cached root away and make it again")
    sub.add_parser("list", help="list cached roots and boxes in use")
    rm = sub.add_parser("rm", help="delete cached roots or leftovers of crashed runs")
    rm.add_argument("key", nargs="?", help="key (or unique prefix) from `box list`")
    rm.add_argument("--all", action="store_true", help="delete every cached root")
    rm.add_argument("--leftovers", action="store_true", help="only clean up after crashed runs")
    rm.add_argument("--kept", metavar="NAME", help="stop and remove a box left running by --verify --keep-box")
    boot = sub.add_parser("boot", help="boot a throw-away box until Ctrl-C")
    boot.add_argument("--ssh-config", type=Path, help="also write the ssh-config file here")
    boot.add_argument("--name", help="box name (phx-..., at most 12 characters)")
    run = sub.add_parser("run", help="run a command in a throw-away copy")
    run.add_argument("--network", action="store_true", help="share the host's network (default: none)")
    run.add_argument("argv", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    bench = sub.add_parser("bench", help="time overlay creation, run_in and boot-to-ssh")
    bench.add_argument("--rounds", type=int, default=5, help="repetitions per figure (default 5)")
    return parser


def main(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.verbose:
        runner.set_verbose(True)
    if not args.command:
        parser.print_help()
        return 2
    return report_errors("build-rpm box", lambda: COMMANDS[args.command](args))


def cmd_create(args: argparse.Namespace) -> int:
    print(ensure_root(refresh=args.refresh))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    roots = root.list_roots()
    print(f"cached roots in {root.cache_dir()}:")
    if not roots:
        print("  (none; make one with: tools/build-rpm box create)")
    for r in roots:
        flags = ", ".join(f for f in ("current" if r.current else "", "" if r.complete else "INCOMPLETE") if f)
        size = f"{r.size_mb:.0f} MB" if r.size_mb is not None else "?"
        made = f"made {r.created} in {r.seconds:.0f} s" if r.created and r.seconds is not None else ""
        print(f"  {r.key}  {size:>8}  {made}  {('[' + flags + ']') if flags else ''}".rstrip())
    leases = lease.load_leases()
    print("boxes in use:")
    if not leases:
        print("  (none)")
    for le in leases:
        state = ("running" if le.owner_alive() else
                 f"KEPT (--keep-box; ssh -F {le.workdir}/ssh_config {le.name}; `box rm --kept {le.name}` removes it)"
                 if le.kept else "LEFTOVER (owner gone; `box rm --leftovers` removes it)")
        address = f"  169.254.{le.subnet}.2" if le.subnet else ""
        print(f"  {le.name}  owner pid {le.owner_pid}  {state}{address}  {le.workdir}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    if args.kept:
        if args.key or args.all or args.leftovers:
            raise UserError("box rm: --kept NAME takes no KEY, --all or --leftovers")
        print(f"removed box {lease.remove_kept(args.kept)}")
        return 0
    if args.leftovers:
        if args.key or args.all:
            raise UserError("box rm: --leftovers takes no KEY and no --all")
        removed = lease.cleanup_leftovers()
        print("\n".join(removed) if removed else "no leftovers")
        return 0
    if args.all == bool(args.key):
        raise UserError("box rm: give a KEY (see `tools/build-rpm box list`) or --all")
    lease.cleanup_leftovers()
    keys = [r.key for r in root.list_roots()] if args.all else [args.key]
    for key in keys:
        print(f"removed {root.remove_root(key)}")
    return 0


def cmd_boot(args: argparse.Namespace) -> int:
    with booted(ensure_root(), name=args.name, ssh_config_path=args.ssh_config) as box:
        print(f"box {box.name} is up at {box.address}; its root is {box.root}")
        print(f"  ssh:  ssh -F {box.ssh_config} {box.ssh_host}")
        print(f"  host side of its network: {' '.join(box.host_argv(['curl', f'http://{box.address}:PORT/']))}")
        print("Ctrl-C stops and removes it.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.argv)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UserError("box run: give a command after --, e.g. tools/build-rpm box run -- rpm -qa")
    with throwaway(ensure_root()) as root:
        proc = run_in(root, command, network=args.network, check=False, capture=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    return proc.returncode


def cmd_bench(args: argparse.Namespace) -> int:
    """Median and max of each step over --rounds runs, as a Markdown table."""
    if args.rounds < 1:
        raise UserError("box bench: --rounds must be at least 1")
    root = ensure_root()
    figures: dict[str, list[float]] = {"overlay create (mount)": [], "overlay teardown": [],
                                       "run_in `true` in a fresh copy": [], "boot to ssh": [],
                                       "box teardown": []}
    for _ in range(args.rounds):
        t0 = time.monotonic()
        with leased_overlay(root):
            t1 = time.monotonic()
        figures["overlay create (mount)"].append(t1 - t0)
        figures["overlay teardown"].append(time.monotonic() - t1)
        t0 = time.monotonic()
        with throwaway(root) as tree:
            run_in(tree, ["true"])
        figures["run_in `true` in a fresh copy"].append(time.monotonic() - t0)
        t0 = time.monotonic()
        with booted(root):
            t1 = time.monotonic()
        figures["boot to ssh"].append(t1 - t0)
        figures["box teardown"].append(time.monotonic() - t1)
    meta_path = root.parent / "box.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    print(f"| step ({args.rounds} rounds) | median | max |")
    print("|---|---|---|")
    if meta.get("debootstrap_seconds") is not None:
        print(f"| debootstrap (once per package list, {meta.get('created')}) | {meta['debootstrap_seconds']:.1f} s | |")
        print(f"| whole root creation incl. configure + rpm provides | {meta['seconds']:.1f} s | |")
    for step, values in figures.items():
        print(f"| {step} | {statistics.median(values):.2f} s | {max(values):.2f} s |")
    return 0


COMMANDS = {"create": cmd_create, "list": cmd_list, "rm": cmd_rm, "boot": cmd_boot, "run": cmd_run,
            "bench": cmd_bench}
