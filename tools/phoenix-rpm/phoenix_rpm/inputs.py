"""Parsing helpers both project formats share: data_files, requirements, version.

setup.cfg and pyproject.toml differ in syntax but not in meaning, so the
meaning lives here once: pbr's data_files rules, requirements.txt, pbr's
version, and the ``[phoenix:rpm]`` override keys. Every failure is a
``UserError`` of one line: ``<file>:<line>: <where>: <problem>; <what to do>``.
"""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import threading
from pathlib import Path
from typing import Iterable, Iterator

from phoenix_rpm import runner
from phoenix_rpm.errors import CommandFailed, UserError
from phoenix_rpm.model import DataFile, Requirement

# Characters rpm's %files would treat as a glob, or that cannot be quoted in a
# spec line at all. Spaces and '%' are fine: spec.py quotes and escapes them.
UNSAFE_NAME = re.compile(r'[*?\[\]{}"\\\x00-\x1f\x7f]')
GLOB_CHARS = re.compile(r"[*?\[]")

OVERRIDE_KEYS = (
    "services", "tools", "user", "group", "install_mode", "venv_dir",
    "release", "logrotate", "extra_files", "unit_overrides", "allow_privileged", "allow_system_paths", "wsgi_bind",
    "extras", "requirements",
)


def bad(path: Path | str, problem: str, fix: str, line: int | None = None) -> UserError:
    """One-line error: file (and line), what is wrong, what to do."""
    where = f"{path}:{line}" if line else f"{path}"
    return UserError(f"{where}: {problem}; {fix}")


def line_of(text: str, needle: str, start: int = 1) -> int | None:
    """1-based number of the first line at or after ``start`` that is ``needle``, else contains it."""
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if number >= start and line.strip() == needle.strip():
            return number
    for number, line in enumerate(lines, 1):
        if number >= start and needle in line:
            return number
    return None


def key_line(raw: str, key: str, start: int = 1) -> int | None:
    """1-based line of ``key =`` (or ``key:``) at or after ``start``.

    ``line_of(raw, "name")`` found the first line *containing* "name" (a
    summary mentioning it, ``author_name``...), so messages named the wrong
    line; this matches the key itself, then falls back to line_of.
    """
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[=:]")
    for number, line in enumerate(raw.splitlines(), 1):
        if number >= start and pattern.match(line):
            return number
    return line_of(raw, key, start)


# --- data_files -----------------------------------------------------------

def expand_data_files(
    project_dir: Path, value: str, cfg: Path, raw: str, key_line: int | None,
    label: str = "[files] data_files",
) -> list[DataFile]:
    """Expand pbr's ``data_files`` value exactly as pbr does, but loudly.

    pbr's rules (pbr/hooks/files.py and pbr/setupcfg.py): ``target = a b`` and
    ``target =`` followed by indented source lines; several targets; quoted
    names (shlex); ``target = dir/*`` (a trailing ``*`` only) installs the
    tree under ``dir/`` keeping sub-folders. pbr silently installs nothing
    for a glob that matches nothing and setuptools fails late on a missing
    file or a bare directory: here each is an error that names the line.
    """
    out: list[DataFile] = []
    seen: dict[str, str] = {}
    target: str | None = None
    lineno = key_line or 0
    # The value's lines appear in the file in order: one forward cursor over
    # the file's lines finds each (linear; a search from the top per line was
    # quadratic in the size of data_files, see docs/benchmarks.md).
    raw_lines = raw.splitlines() if key_line else []
    cursor = (key_line or 1) - 1
    for raw_line in value.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        here = None
        if key_line:
            here = _next_line(raw_lines, cursor, line)
            cursor = here - 1 if here else cursor
        lineno = here or lineno
        where = f"{label}"
        try:
            if "=" in line and line.rstrip().endswith("*"):
                tgt, pattern = line.split("=", 1)
                target = check_target(tgt, cfg, here, where)
                prefix = pattern.strip()[:-1]
                out += _walk_glob(project_dir, target, prefix, cfg, here, where)
                continue
            if "=" in line:
                tgt, rest = line.split("=", 1)
                target = check_target(tgt, cfg, here, where)
                sources = _split(rest)
            else:
                if target is None:
                    raise bad(cfg, f"{where}: first line {line!r} has no 'target ='",
                              "start with a target folder, e.g. 'etc/<name> = etc/<name>/<name>.conf'", here)
                sources = _split(line)
        except ValueError as exc:  # shlex: unbalanced quotes
            raise bad(cfg, f"{where}: cannot split {line!r} ({exc})", "balance the quotes", here) from None
        for src in sources:
            out.append(_one_source(project_dir, target, src, cfg, here, where))
    for df in out:
        if df.target in seen:
            tail = df.where.rsplit(":", 1)[-1]
            raise bad(cfg, f"{label}: two sources install to the same path {df.target!r} "
                      f"({seen[df.target]!r} and {df.source!r})",
                      "remove one of them or install them to different targets",
                      int(tail) if tail.isdigit() else None)
        seen[df.target] = df.source
    return out


def _split(text: str) -> list[str]:
    """shlex.split, with a fast path for the common line that holds no quote or escape."""
    return text.split() if not any(c in text for c in "'\"\\#") else shlex.split(text)


def _next_line(lines: list[str], start: int, needle: str, window: int = 2000) -> int | None:
    """1-based number of the line at or after index ``start`` that is ``needle`` (else contains it).

    Bounded to ``window`` lines so a value line that cannot be found (a
    comment between) costs a constant, keeping data_files linear.
    """
    end = min(len(lines), start + window)
    for i in range(start, end):
        if lines[i].strip() == needle:
            return i + 1
    for i in range(start, end):
        if needle in lines[i]:
            return i + 1
    return None


def _line(raw: str, needle: str) -> int | None:
    return line_of(raw, needle) if raw else None


def check_target(text: str, cfg: Path, line: int | None, where: str) -> str:
    """A data_files target: relative to the prefix, inside it, and a name rpm can hold."""
    try:
        parts = shlex.split(text.strip())
    except ValueError as exc:
        raise bad(cfg, f"{where}: cannot split target {text.strip()!r} ({exc})", "balance the quotes", line) from None
    if not parts:
        raise bad(cfg, f"{where}: empty target before '='", "name a folder relative to the prefix, e.g. etc/<name>", line)
    target = parts[0].strip().rstrip("/")
    if target.startswith("/"):
        raise bad(cfg, f"{where}: absolute target {target!r}",
                  "write it relative to the install prefix (etc/<name> is installed to /etc/<name>)", line)
    if ".." in target.split("/"):
        raise bad(cfg, f"{where}: target {target!r} leaves the install prefix", "remove the '..'", line)
    _check_name(target, cfg, line, where)
    return target


def _check_name(name: str, cfg: Path, line: int | None, where: str) -> None:
    if re.search(r"[\ud800-\udfff]", name):
        raise bad(cfg, f"{where}: {name!r} is not valid UTF-8 (a file name rpm cannot list reliably)",
                  "rename the file with UTF-8 characters", line)
    if UNSAFE_NAME.search(name):
        raise bad(cfg, f"{where}: {name!r} contains a glob, quote, backslash or control character "
                  "that an rpm %files line cannot hold", "rename the file (spaces and '%' are fine)", line)


def _one_source(project_dir: Path, target: str, src: str, cfg: Path, line: int | None, where: str) -> DataFile:
    if GLOB_CHARS.search(src):
        raise bad(cfg, f"{where}: {src!r}: pbr expands only a trailing '*' on a 'target = folder/*' line",
                  "list the files, or install the folder with 'target = folder/*'", line)
    _check_name(src, cfg, line, where)
    from phoenix_rpm import validate

    path = os.path.join(project_dir, src)
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = 0
    validate.inside(_root(project_dir), src, cfg, where, want_file=False, line=line,
                    is_link=stat.S_ISLNK(mode))
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = 0
    if stat.S_ISDIR(mode):
        raise bad(cfg, f"{where}: {src!r} is a folder; pbr copies files only",
                  f"write '{target} = {src.rstrip('/')}/*' to install the whole folder", line)
    if mode and not stat.S_ISREG(mode):
        raise bad(cfg, f"{where}: {src!r} is not a regular file (a pipe, socket or device)",
                  "install regular files only", line)
    if not stat.S_ISREG(mode):
        raise bad(cfg, f"{where}: {src!r} does not exist in {project_dir}",
                  "fix the path or add the file", line)
    base = src.rsplit("/", 1)[-1]
    return DataFile(target=f"{target}/{base}" if target else base, source=src,
                    where=f"{cfg.name}:{line}" if line else cfg.name)


_ROOTS: dict[str, Path] = {}


def _root(project_dir: Path) -> Path:
    key = str(project_dir)
    if key not in _ROOTS:
        _ROOTS[key] = Path(os.path.realpath(project_dir))
    return _ROOTS[key]


def _walk_glob(project_dir: Path, target: str, prefix: str, cfg: Path, line: int | None, where: str) -> list[DataFile]:
    try:
        prefix = "".join(shlex.split(prefix))
    except ValueError as exc:
        raise bad(cfg, f"{where}: cannot split {prefix!r} ({exc})", "balance the quotes", line) from None
    if GLOB_CHARS.search(prefix):
        raise bad(cfg, f"{where}: {prefix + '*'!r}: pbr expands only one trailing '*'",
                  "use 'target = folder/*' or list the files", line)
    from phoenix_rpm import validate

    root = Path(os.path.realpath(project_dir))
    validate.inside(root, prefix or ".", cfg, where, want_file=False, line=line)
    base = project_dir / prefix
    found: list[DataFile] = []
    if base.is_dir():
        for dirpath, dirnames, fnames in os.walk(base):
            dirnames.sort()
            rel = os.path.relpath(dirpath, base)
            sub = "" if rel == "." else rel.replace(os.sep, "/")
            for fname in sorted(fnames):
                src = os.path.relpath(os.path.join(dirpath, fname), project_dir).replace(os.sep, "/")
                _check_name(src, cfg, line, where)
                full = os.path.join(dirpath, fname)
                mode = os.lstat(full).st_mode
                if stat.S_ISLNK(mode):
                    validate.inside(root, src, cfg, where, line=line)
                    try:
                        mode = os.stat(full).st_mode
                    except OSError:  # dangling or looping link
                        mode = 0
                if not stat.S_ISREG(mode):  # a FIFO would block the reads that follow
                    raise bad(cfg, f"{where}: {src!r} is not a regular file (a pipe, socket or device)",
                              "remove it from the folder, or list the files one by one", line)
                tdir = f"{target}/{sub}" if sub else target
                found.append(DataFile(target=f"{tdir}/{fname}", source=src,
                                      where=f"{cfg.name}:{line}" if line else cfg.name))
    if not found:
        raise bad(cfg, f"{where}: {prefix + '*'!r} matches no file", "fix the folder name or remove the line", line)
    return found


def expand_globs(project_dir: Path, target: str, patterns: Iterable[str], cfg: Path, where: str) -> list[DataFile]:
    """setuptools' ``[tool.setuptools.data-files]``: each entry is a glob (``**`` allowed)."""
    import glob

    from phoenix_rpm import validate

    target = target.strip().rstrip("/")
    out: list[DataFile] = []
    root = Path(os.path.realpath(project_dir))
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise bad(cfg, f"{where} {target!r}: {pattern!r} is not a string", "quote the pattern")
        if os.path.isabs(pattern) or ".." in Path(pattern).parts:
            raise bad(cfg, f"{where} {target!r}: {pattern!r} leaves the project folder",
                      "use a pattern relative to the project, without '..'")
        if GLOB_CHARS.search(pattern):
            matches = sorted(glob.glob(pattern, root_dir=project_dir, recursive=True))
            matches = [m for m in matches if (project_dir / m).is_file()]
            if not matches:
                raise bad(cfg, f"{where} {target!r}: {pattern!r} matches no file",
                          "fix the pattern or remove it")
            for m in matches:
                _check_name(m, cfg, None, where)
                validate.inside(root, m, cfg, f"{where} {target!r}")
                out.append(DataFile(f"{target}/{Path(m).name}", m.replace(os.sep, "/"), cfg.name))
        else:
            out.append(_one_source(project_dir, target, pattern, cfg, None, f"{where} {target!r}"))
    return out


def check_duplicates(files: list[DataFile], cfg: Path, where: str) -> None:
    seen: dict[str, str] = {}
    for df in files:
        if df.target in seen:
            raise bad(cfg, f"{where}: two sources install to the same path {df.target!r} "
                      f"({seen[df.target]!r} and {df.source!r})",
                      "remove one of them or install them to different targets")
        seen[df.target] = df.source


# --- requirements ---------------------------------------------------------

def parse_requirement_lines(lines: Iterable[tuple[int | None, str]], path: Path, where: str = "",
                            _including: tuple[Path, ...] = (), root: Path | None = None) -> list[Requirement]:
    """Parse PEP 508 lines; pip options other than ``-r`` are refused (they mean nothing in an RPM).

    ``root``: the project folder (default: the folder of ``path``); every
    ``-r`` include must resolve inside it, checked before it is opened, so
    ``-r /etc/shadow`` is never read and its lines never reach an error
    message or a CI log (docs/packaging.md, "Hostile input and the trust
    boundary").
    """
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as PepRequirement

    root = _root(path.parent) if root is None else root
    out: list[Requirement] = []
    for number, raw in lines:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line == "-r" or line.startswith(("-r ", "-r\t", "--requirement")):
            name = re.sub(r"^(-r|--requirement)(=|\s+)?", "", line).strip()
            if not name:
                raise bad(path, f"{where}{line!r} names no file", "write '-r other-requirements.txt'", number)
            inc = path.parent / name
            _check_include(root, path, inc, f"{where}'-r {name}'", number)
            if not inc.is_file():
                raise bad(path, f"{where}included file {inc.name!r} does not exist", "fix the -r line", number)
            real = Path(os.path.realpath(inc))
            if real in _including:
                raise bad(path, f"{where}'-r {name}' includes a file that is already being read "
                          f"(a loop: {' -> '.join(p.name for p in _including)} -> {real.name})",
                          "remove the -r line that closes the loop", number)
            out += read_requirements(inc, _including, root=root)
            continue
        if line.startswith("-"):
            raise bad(path, f"{where}pip option {line!r} is not a runtime requirement",
                      "keep only 'name>=version' lines (indexes and editables belong to pip's config)", number)
        try:
            req = PepRequirement(line)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0]
            raise bad(path, f"{where}{line!r} is not a valid requirement ({reason})",
                      "write it as 'name>=version' (PEP 508)", number) from None
        if req.url:
            # a direct URL is fetched from wherever it points, at build time
            # (file:///etc/shadow, http://anything): not a package of an index
            raise bad(path, f"{where}{line!r} is a direct URL requirement",
                      "require it by name and version (name>=1.0) from the package index", number)
        out.append(Requirement(req.name, str(req.specifier), str(req.marker) if req.marker else "", line))
    return out


def _check_include(root: Path, path: Path, inc: Path, label: str, line: int | None) -> None:
    """A requirement file must resolve inside the project before anything reads it.

    Judged by where the path ends after every symlink, relative to ``root``
    (the project); the message names the link or path and its target,
    never a line of the file it points at.
    """
    real = os.path.realpath(inc)
    top = str(root)
    if real == top or real.startswith(top + "/"):
        return
    how = "a symlink" if os.path.islink(inc) else "a path"
    if inc == path:  # the top file: requirements.txt itself
        raise bad(path, f"{path.name} is {how} to {real}, outside the project folder {top}",
                  "make requirements.txt a file of the project; a file outside it is never read")
    raise bad(path, f"{label} is {how} to {real}, outside the project folder {top}",
              "keep requirement files inside the project (copy the lines in); a file outside it is never read",
              line)


def project_file(path: Path) -> Path:
    """A project file the toolkit is about to read (setup.cfg, pyproject.toml) must resolve inside its folder.

    A setup.cfg that is a symlink to /etc/shadow would otherwise be parsed
    and its first line quoted in the syntax error (a secret in a CI log):
    refused unread, naming the link and its target only.
    """
    real = os.path.realpath(path)
    top = str(_root(path.parent))
    if real != top and not real.startswith(top + "/"):
        raise bad(path, f"{path.name} is a symlink to {real}, outside the project folder {top}",
                  f"make {path.name} a file of the project; a file outside it is never read")
    return path


def read_requirements(path: Path, _including: tuple[Path, ...] = (), root: Path | None = None) -> list[Requirement]:
    """requirements.txt and its ``-r`` includes; a loop or a non-UTF-8 byte is a one-line error.

    The file itself must resolve inside ``root`` (default: its folder, the
    project): a requirements.txt that is a symlink to /etc/passwd is refused
    unread.
    """
    root = _root(path.parent) if root is None else root
    if not os.path.lexists(path):
        return []
    _check_include(root, path, path, "", None)
    if not path.is_file():
        return []
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(path, f"byte {exc.start} (0x{data[exc.start]:02x}) is not UTF-8",
                  "save the file as UTF-8", data[:exc.start].count(b"\n") + 1) from None
    return parse_requirement_lines(enumerate(text.splitlines(), 1), path,
                                   _including=(*_including, Path(os.path.realpath(path))), root=root)


# --- version --------------------------------------------------------------

_CWD_LOCK = threading.Lock()


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    """pbr reads git from the current directory; hold a lock while we move there."""
    with _CWD_LOCK:
        old = os.getcwd()
        os.chdir(path)
        try:
            yield
        finally:
            os.chdir(old)


RPM_VERSION = re.compile(r"^[A-Za-z0-9._+~^]+$")


def pbr_version(project_dir: Path, name: str, declared: str | None, cfg: Path) -> str:
    """The version pbr's sdist will carry: PBR_VERSION wins, then git, then PKG-INFO.

    Computed with pbr itself (``pbr.packaging``), in the project directory, so
    it is the same string ``python setup.py sdist`` puts in the tarball name.
    """
    env = os.environ.get("PBR_VERSION") or os.environ.get("OSLO_PACKAGE_VERSION")
    if env:
        version = env
        origin = "PBR_VERSION"
    else:
        version = ""
        origin = "git (pbr)"
        if in_git(project_dir):
            from pbr import packaging as pbr_packaging

            with _chdir(project_dir):
                try:
                    version = pbr_packaging._get_version_from_git(declared)  # noqa: SLF001
                except Exception as exc:  # pbr raises ValueError & co. on bad tags
                    raise bad(cfg, f"pbr cannot compute a version from git ({exc})",
                              "fix the tags or set PBR_VERSION") from None
        if not version:
            pkg_info = project_dir / "PKG-INFO"
            if pkg_info.is_file() and project_file(pkg_info):  # never through a symlink out
                m = re.search(r"^Version:\s*(\S+)", pkg_info.read_text(errors="replace"), re.M)
                version = m.group(1) if m else ""
                origin = "PKG-INFO"
        if not version and declared:
            version, origin = declared, "metadata version"
        if not version:
            raise bad(cfg, "no version: not a git checkout, no PKG-INFO, no PBR_VERSION",
                      "tag the repository (git tag 1.0.0) or set PBR_VERSION=1.0.0")
    if not RPM_VERSION.match(version):
        raise bad(cfg if origin != "PBR_VERSION" else "PBR_VERSION",
                  f"version {version!r} (from {origin}) is not a valid rpm Version",
                  "use letters, digits, '.', '+' and '~' only (no '-')")
    return version


def in_git(project_dir: Path) -> bool:
    """Is the project inside a git work tree (pbr then lists its files from git)?"""
    try:
        proc = runner.run(["git", "rev-parse", "--git-dir"], cwd=project_dir, capture=True, check=False)
    except CommandFailed:  # no git on this host
        return False
    return proc.returncode == 0


def last_commit_epoch(project_dir: Path) -> int | None:
    """SOURCE_DATE_EPOCH if set, else the last commit's time: never the wall clock."""
    from phoenix_rpm import reproducible

    sde = reproducible.env_epoch()
    if sde is not None:
        return sde
    try:
        proc = runner.run(["git", "log", "-1", "--format=%ct"], cwd=project_dir, capture=True, check=False)
    except CommandFailed:  # no git on this host
        return None
    out = proc.stdout.strip()
    return int(out) if proc.returncode == 0 and out.isdigit() else None


def split_list(value: str) -> list[str]:
    return [v for v in re.split(r"[\s,]+", value.strip()) if v]


def parse_bool(value: str, cfg: Path, key: str) -> bool:
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise bad(cfg, f"{key} = {value!r} is not a boolean", "write true or false")
