"""``tools/build-box``: the local Vagrant box, by hand (build, list, prune).

``tools/build-rpm --verify --box vagrant`` builds the box on first use; this
command is for making it ahead of time (CI caches, a first try by hand) and
for cleaning up boxes of older recipes.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Any, Sequence

from phoenix_rpm import runner
from phoenix_rpm.box.root import box_key as root_key
from phoenix_rpm.errors import report_errors
from phoenix_rpm.vagrant import ensure_box, ensure_host
from phoenix_rpm.vagrant.image import (
    box_key,
    box_name,
    cache_dir,
    forget_uploads,
    installed_boxes,
)


def current_key() -> str:
    return box_key(root_key())


def list_boxes() -> list[dict[str, Any]]:
    added = set(installed_boxes())
    current = current_key()
    rows = []
    for entry in sorted(cache_dir().glob("*")) if cache_dir().is_dir() else []:
        if not entry.is_dir():
            continue
        meta_path = entry / "box.json"
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        rows.append({"key": entry.name, "name": box_name(entry.name), "current": entry.name == current,
                     "complete": bool(meta), "added": box_name(entry.name) in added,
                     "created": meta.get("created"), "seconds": meta.get("seconds")})
    return rows


def prune() -> list[str]:
    """Remove every cached box but the current one: cache dir, `vagrant box remove`, libvirt volume."""
    removed = []
    for row in list_boxes():
        if row["current"]:
            continue
        if row["added"]:
            runner.run(["vagrant", "box", "remove", "--force", "--all", row["name"]], check=False,
                       capture=True, timeout=120)
        forget_uploads(row["name"])
        shutil.rmtree(cache_dir() / row["key"], ignore_errors=True)
        (cache_dir() / f"{row['key']}.lock").unlink(missing_ok=True)
        removed.append(row["name"])
    return removed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/build-box", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--refresh", action="store_true", help="rebuild the current box even if cached")
    group.add_argument("--list", action="store_true", help="cached boxes (the current one marked *)")
    group.add_argument("--prune", action="store_true", help="remove every cached box but the current one")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every command run")
    args = parser.parse_args(argv)
    runner.set_verbose(args.verbose)

    def body() -> int:
        if args.list:
            for row in list_boxes():
                mark = "*" if row["current"] else " "
                state = "added" if row["added"] else ("built" if row["complete"] else "incomplete")
                print(f"{mark} {row['name']}  {state}  {row['created'] or '-'}  {row['seconds'] or '-'} s")
            return 0
        if args.prune:
            for name in prune():
                print(f"removed {name}")
            return 0
        ensure_host()
        print(ensure_box(refresh=args.refresh))
        return 0

    return report_errors("build-box", body)


if __name__ == "__main__":
    sys.exit(main())
