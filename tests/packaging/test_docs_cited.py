"""Code comments cite docs/ files of this repository, and those files exist.

The house rule (README, "Architecture"): a comment explaining *why* points at
a docs/*.md page that says more, never at a file outside the repository.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("phoenix", "apollo", "tools/phoenix-rpm/phoenix_rpm", "tests", "bench", "ops-profile")
_CITED = re.compile(r"docs/([A-Za-z0-9_.-]+\.md)")


def _files() -> list[Path]:
    out: list[Path] = []
    for top in SOURCES:
        out += [p for p in (ROOT / top).rglob("*") if p.is_file() and p.suffix in (".py", ".j2", ".lua", ".sh", "")
                and "__pycache__" not in p.parts]
    return out + [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_cited_docs_page_exists():
    missing = []
    for path in _files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for name in _CITED.findall(line):
                if not (ROOT / "docs" / name).is_file():
                    missing.append(f"{path.relative_to(ROOT)}:{number}: docs/{name}")
    assert missing == [], "cited but not in docs/:\n" + "\n".join(missing)


def test_no_comment_cites_a_design_file_outside_the_repository():
    outside = [f"{path.relative_to(ROOT)}:{number}" for path in _files()
               for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
               if "DESIGN" + ".md" in line]
    assert outside == [], "cite docs/*.md instead of a design file outside the repository: " + ", ".join(outside)
