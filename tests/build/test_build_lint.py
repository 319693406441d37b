"""The lint stage: rpmlint with the toolkit's and the project's rpmlintrc."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phoenix_rpm import build, cli, lint
from phoenix_rpm.errors import CheckFailed

REPO = Path(__file__).resolve().parents[2]
RPMLINTRCS = sorted([lint.DEFAULT_RPMLINTRC, *REPO.glob("rpm/*rpmlintrc"),
                     *REPO.glob("tests/build/data/*/rpm/*.rpmlintrc")])


@pytest.mark.parametrize("rcfile", RPMLINTRCS, ids=lambda p: str(p.relative_to(REPO)))
@pytest.mark.unit
def test_every_filter_has_a_comment_saying_why(rcfile: Path) -> None:
    """Each addFilter block is introduced by a comment (blocks end at blank lines)."""
    commented = False
    filters = 0
    for number, line in enumerate(rcfile.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            commented = False
        elif stripped.startswith("#"):
            commented = True
        elif stripped.startswith("addFilter("):
            filters += 1
            assert commented, f"{rcfile}:{number}: addFilter without a comment saying why"
        else:
            pytest.fail(f"{rcfile}:{number}: unexpected line {stripped!r}")
    assert filters > 0


@pytest.mark.unit
def test_a_project_name_ending_in_a_language_code_is_no_language_pack() -> None:
    """freezer-api (a real sdist, docs/corpus.md "Unseen-service probe") failed the lint with
    ``E: no-dependency-on locales-api``: rpmlint reads the name's ``-api`` as ISO 639-3 "api".
    The toolkit's filter takes exactly that finding, not the check's other ones."""
    import re

    filters = re.findall(r'^addFilter\(r"(.*)"\)$', lint.DEFAULT_RPMLINTRC.read_text(), re.M)

    def filtered(line: str) -> bool:
        return any(re.search(f, line) for f in filters)

    assert filtered("freezer-api.x86_64: E: no-dependency-on locales-api")
    assert filtered("demo-ui.noarch: E: no-dependency-on locales-ui")
    assert not filtered("demo.x86_64: E: no-dependency-on python-base")
    assert not filtered("demo.x86_64: E: invalid-lc-messages-dir /usr/share/locale/xx/LC_MESSAGES/demo.mo")
    # zun's bundled numpy wheel ships static libraries (not the project's files); the project's own are not filtered
    assert filtered("zun.x86_64: E: static-library-without-debuginfo "
                    "/usr/lib/zun/lib/python3.11/site-packages/numpy/_core/lib/libnpymath.a")
    assert not filtered("demo.x86_64: E: static-library-without-debuginfo /usr/lib64/libdemo.a")


@pytest.mark.unit
def test_the_repo_has_a_project_rpmlintrc() -> None:
    assert (REPO / "rpm" / "rpmlintrc") in RPMLINTRCS
    assert lint.project_rpmlintrc(REPO, "apollo") == REPO / "rpm" / "rpmlintrc"


@pytest.mark.unit
def test_summary_line_is_parsed() -> None:
    out = "x.x86_64: E: no-binary\n 2 packages and 1 specfiles checked; 3 errors, 14 warnings, 9 filtered, 3 badness; has taken 2.0 s \n"
    assert lint.parse_summary(out) == (3, 14)
    with pytest.raises(CheckFailed, match="no summary"):
        lint.parse_summary("Traceback (most recent call last):\n  boom\n")


@pytest.fixture
def unfiltered_copy(hello_host_build: build.BuildResult, tmp_path: Path) -> Path:
    """hello's spec and packages without its project rpmlintrc."""
    project = tmp_path / "hello"
    (project / "rpm").mkdir(parents=True)
    (project / "dist").mkdir()
    shutil.copy2(hello_host_build.spec, project / "rpm" / "hello.spec")
    for pkg in hello_host_build.packages:
        shutil.copy2(pkg, project / "dist" / pkg.name)
    return project


def test_errors_fail_the_stage_and_are_printed(unfiltered_copy: Path, capsys) -> None:
    # A real rpmlint error the toolkit never filters: the build root used in %build.
    spec = unfiltered_copy / "rpm" / "hello.spec"
    spec.write_text(spec.read_text().replace("\n%build\n", "\n%build\ntouch $RPM_BUILD_ROOT/x\n", 1))
    assert cli.main([str(unfiltered_copy), "--stage", "lint"]) == 1
    err = capsys.readouterr().err
    assert "==> lint FAILED" in err
    assert "rpmlint found 1 errors" in err
    assert "E: rpm-buildroot-usage %build touch $RPM_BUILD_ROOT/x" in err
    assert "rpm/rpmlintrc" in err  # says where a justified filter would go


def test_project_rpmlintrc_is_applied_and_a_clean_lint_is_not_repeated(
        unfiltered_copy: Path, capsys) -> None:
    shutil.copy2(Path(__file__).parent / "data/hello/rpm/hello.rpmlintrc",
                 unfiltered_copy / "rpm" / "hello.rpmlintrc")
    first = lint.lint(unfiltered_copy)
    assert (first.errors, first.cached) == (0, False)
    second = lint.lint(unfiltered_copy)
    assert (second.errors, second.warnings, second.cached) == (0, first.warnings, True)
    assert "same files and filters as the last lint" in capsys.readouterr().err
