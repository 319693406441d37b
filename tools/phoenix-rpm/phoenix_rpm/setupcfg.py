"""Read a pbr ``setup.cfg`` into the project model.

Reads the file as text with ``configparser`` and never runs setup.py or
imports the project: packaging must not execute the code it packages, and a
broken project must give a clear one-line error, not a traceback from inside
setuptools.
"""
from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from pathlib import Path

from phoenix_rpm import inputs
from phoenix_rpm.inputs import bad, line_of
from phoenix_rpm.model import EntryPoint, Overrides, Project, Requirement

OVERRIDE_SECTION = "phoenix:rpm"
SCRIPT_GROUPS = ("console_scripts", "wsgi_scripts")
ENTRY_POINT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*=\s*(?P<module>[A-Za-z_][\w.]*)"
                         r"(?:\s*:\s*(?P<func>[A-Za-z_][\w.]*))?\s*(?:\[[^\]]*\])?$")
LICENSE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING")
README_NAMES = ("README.md", "README.rst", "README.txt", "README")


_PARSED: dict[str, tuple[configparser.RawConfigParser, str]] = {}


def read_config(cfg: Path) -> tuple[configparser.RawConfigParser, str]:
    """Parse the ini file; syntax errors name the line.

    The last parse is kept, keyed by the file's text: a run reads setup.cfg
    twice (which format? then the project), and a large one takes a
    second to parse (docs/benchmarks.md).
    """
    inputs.project_file(cfg)
    raw = cfg.read_text(encoding="utf-8", errors="replace")
    cached = _PARSED.get(str(cfg))
    if cached is not None and cached[1] == raw:
        return cached
    _PARSED.clear()
    _PARSED[str(cfg)] = result = _read_config(cfg, raw)
    return result


def _read_config(cfg: Path, raw: str) -> tuple[configparser.RawConfigParser, str]:
    if raw.startswith("\ufeff"):
        raise bad(cfg, "starts with a byte-order mark (BOM), which setuptools and pbr cannot read",
                  "save it as UTF-8 without a BOM", 1)
    # setuptools reads setup.cfg with '%' interpolation: a literal '%' (a file
    # name such as 100%.txt) must be written '%%' there, or setuptools fails.
    parser = configparser.ConfigParser(strict=True, interpolation=configparser.BasicInterpolation())
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep systemd Key case
    try:
        parser.read_string(raw, source=str(cfg))
        for section in parser.sections():
            for key in parser[section]:
                try:
                    parser.get(section, key)
                except configparser.InterpolationError as exc:
                    raise bad(cfg, f"[{section}] {key}: a lone '%' ({exc.__class__.__name__}): setuptools reads "
                              "setup.cfg with % interpolation", "write a literal '%' as '%%'",
                              inputs.key_line(raw, key)) from None
        _near_miss_sections(cfg, raw, parser.sections())
    except configparser.DuplicateSectionError as exc:
        raise bad(cfg, f"section [{exc.section}] appears twice", "merge the two sections", exc.lineno) from None
    except configparser.DuplicateOptionError as exc:
        raise bad(cfg, f"[{exc.section}] {exc.option} appears twice", "keep one of them", exc.lineno) from None
    except configparser.MissingSectionHeaderError as exc:
        raise bad(cfg, f"not an ini file: {exc.line.strip()!r} before any [section]",
                  "start with [metadata]", exc.lineno) from None
    except configparser.ParsingError as exc:
        lineno, text = exc.errors[0] if exc.errors else (None, "")
        raise bad(cfg, f"cannot parse line {text.strip()!r}", "fix the ini syntax (key = value, indented continuation lines)",
                  lineno) from None
    return parser, raw


#: the sections the toolkit (and pbr) read; a spelling that differs only in case
#: or separators (``[Phoenix:RPM]``, ``[phoenix-rpm]``, ``[Metadata]``) is read
#: by nobody, so its settings would be silently dropped
READ_SECTIONS = ("metadata", "files", "entry_points", "pbr", "extras", OVERRIDE_SECTION, "phoenix:verify",
                 "phoenix:ops")


def _squash(name: str) -> str:
    return re.sub(r"[\s_.:-]+", "", name.lower())


def _near_miss_sections(cfg: Path, raw: str, sections: list[str]) -> None:
    wanted = {_squash(s): s for s in READ_SECTIONS}
    for section in sections:
        meant = wanted.get(_squash(section))
        if meant is not None and section != meant:
            raise bad(cfg, f"section [{section}] is read by nobody (section names are case- and "
                      f"spelling-sensitive); its settings would be ignored", f"rename it [{meant}]",
                      line_of(raw, f"[{section}]"))


def load(project_dir: Path) -> Project:
    cfg = project_dir / "setup.cfg"
    parser, raw = read_config(cfg)
    if not parser.has_section("metadata"):
        raise bad(cfg, "no [metadata] section", "add [metadata] with at least name = <project>")
    meta = parser["metadata"]
    name = meta.get("name", "").strip()
    if not name:
        raise bad(cfg, "[metadata] name is missing", "add name = <project>", line_of(raw, "[metadata]"))
    _check_package_name(name, cfg, inputs.key_line(raw, "name"))
    files = parser["files"] if parser.has_section("files") else {}
    # setuptools' own declarative keys where pbr's are absent (gnocchi: [options] packages,
    # scripts and [options.entry_points]); pbr's win when both are there
    options = parser["options"] if parser.has_section("options") else {}
    declared = files.get("packages") or (options.get("packages", "") if "find" not in options.get("packages", "")
                                         else "")
    packages = inputs.split_list(declared or name.replace("-", "_"))
    data_value = files.get("data_files", "")
    data_files = inputs.expand_data_files(project_dir, data_value, cfg, raw, inputs.key_line(raw, "data_files"))
    eps = entry_points(parser, cfg, raw)
    scripts_key = "[files] scripts" if files.get("scripts") or not options.get("scripts") else "[options] scripts"
    scripts = inputs.split_list(files.get("scripts", "") or options.get("scripts", ""))
    for script in scripts:
        if not (project_dir / script).is_file():
            raise bad(cfg, f"{scripts_key}: {script!r} does not exist", "fix the path or remove it",
                      line_of(raw, script))
    description_file = meta.get("description_file", meta.get("description-file", "")).strip()
    docs = [description_file] if description_file and (project_dir / description_file).is_file() else \
        [n for n in README_NAMES if (project_dir / n).is_file()][:1]
    project = Project(
        project_dir=project_dir,
        config_file=cfg,
        name=name,
        version=inputs.pbr_version(project_dir, name, meta.get("version", "").strip() or None, cfg),
        summary=meta.get("summary", "").strip() or name,
        license=meta.get("license", "").strip(),
        url=(meta.get("home_page", "") or meta.get("home-page", "") or meta.get("url", "")).strip(),
        author=meta.get("author", "").strip(),
        author_email=meta.get("author_email", meta.get("author-email", "")).strip(),
        description=meta.get("description", "").strip(),
        packages=packages,
        packages_root=files.get("packages_root", "").strip(),
        data_files=data_files,
        entry_points=eps,
        requirements=_requirements(project_dir, options, cfg, raw),
        overrides=overrides(parser, cfg, raw),
        license_files=[n for n in LICENSE_NAMES if (project_dir / n).is_file()],
        doc_files=docs,
        extra={"scripts": scripts},
        plugin_entry_points=entry_point_groups(parser),
        merged_from=cfg.name,
    )
    return project


def _requirements(project_dir: Path, options: Mapping[str, str], cfg: Path, raw: str) -> list[Requirement]:
    """requirements.txt (pbr), else setuptools' ``[options] install_requires`` (gnocchi)."""
    if os.path.lexists(project_dir / "requirements.txt") or not options.get("install_requires", "").strip():
        return inputs.read_requirements(project_dir / "requirements.txt")
    first = inputs.key_line(raw, "install_requires") or 0
    lines: list[tuple[int | None, str]] = [(first + n if first else None, text)
                                           for n, text in enumerate(options["install_requires"].splitlines())]
    return inputs.parse_requirement_lines(lines, cfg, root=project_dir)


def _check_package_name(name: str, cfg: Path, line: int | None) -> None:
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", name):
        raise bad(cfg, f"[metadata] name {name!r} is not a valid rpm package name",
                  "use letters, digits, '.', '_', '+' and '-'", line)


def _ep_section(parser: configparser.RawConfigParser) -> str | None:
    """pbr's ``[entry_points]``, else setuptools' ``[options.entry_points]`` (the same syntax)."""
    return next((s for s in ("entry_points", "options.entry_points") if parser.has_section(s)), None)


def entry_points(parser: configparser.RawConfigParser, cfg: Path, raw: str) -> list[EntryPoint]:
    out: list[EntryPoint] = []
    section = _ep_section(parser)
    if section is None:
        return out
    seen: dict[str, str] = {}
    # stripped line -> first line number, built once: a line_of() per entry
    # point was quadratic (2,000 entry points: seconds; docs/benchmarks.md)
    index: dict[str, int] = {}
    for number, text in enumerate(raw.splitlines(), 1):
        index.setdefault(text.strip(), number)
    for group in SCRIPT_GROUPS:
        value = parser[section].get(group, "")
        for line in value.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            lineno = index.get(line) or line_of(raw, line)
            m = ENTRY_POINT.match(line)
            if not m:
                raise bad(cfg, f"[{section}] {group}: {line!r} is not 'name = package.module:function'",
                          "fix the entry point", lineno)
            if not m.group("func"):
                raise bad(cfg, f"[{section}] {group}: {m.group('name')} names no function",
                          "write 'name = package.module:function'", lineno)
            ep_name = m.group("name")
            if ep_name in seen:
                raise bad(cfg, f"[{section}] script {ep_name!r} is defined twice ({seen[ep_name]} and {group})",
                          "rename one of them: both would install bin/" + ep_name, lineno)
            seen[ep_name] = group
            out.append(EntryPoint(ep_name, m.group("module"), m.group("func"), group,
                                  f"{cfg.name}:{lineno}" if lineno else cfg.name))
    return out


def entry_point_groups(parser: configparser.RawConfigParser) -> dict[str, dict[str, str]]:
    """Every ``[entry_points]`` group but the scripts: group -> {name: target} (pbr's syntax)."""
    out: dict[str, dict[str, str]] = {}
    section = _ep_section(parser)
    if section is None:
        return out
    for group, value in parser[section].items():
        if group in SCRIPT_GROUPS:
            continue
        table: dict[str, str] = {}
        for line in value.splitlines():
            name, sep, target = line.strip().partition("=")
            if sep and name.strip() and not line.strip().startswith("#"):
                table[name.strip()] = target.strip()
        out[group] = table
    return out


def overrides(parser: configparser.RawConfigParser, cfg: Path, raw: str) -> Overrides:
    ov = Overrides(source=f"{cfg} [{OVERRIDE_SECTION}]")
    if not parser.has_section(OVERRIDE_SECTION):
        return ov
    section = parser[OVERRIDE_SECTION]
    start = line_of(raw, f"[{OVERRIDE_SECTION}]") or 1
    for key, value in section.items():
        lineno = inputs.key_line(raw, key, start)
        if key not in inputs.OVERRIDE_KEYS:
            raise bad(cfg, f"[{OVERRIDE_SECTION}] unknown key {key!r}",
                      "use one of: " + ", ".join(inputs.OVERRIDE_KEYS), lineno)
        if key in ("services", "tools"):
            setattr(ov, key, inputs.split_list(value))
        elif key in ("logrotate", "allow_privileged", "allow_system_paths"):
            setattr(ov, key, inputs.parse_bool(value, cfg, f"[{OVERRIDE_SECTION}] {key}"))
        elif key == "extras":
            ov.extras = inputs.split_list(value)
        elif key == "requirements":
            ov.requirements = [ln.strip() for ln in value.splitlines()
                               if ln.strip() and not ln.strip().startswith("#")]
        elif key == "extra_files":
            for line in value.splitlines():
                if not line.strip():
                    continue
                if "=" not in line:
                    raise bad(cfg, f"[{OVERRIDE_SECTION}] extra_files: {line.strip()!r} has no '='",
                              "write '/target/path = source/in/project'", line_of(raw, line.strip(), start))
                target, src = (p.strip() for p in line.split("=", 1))
                ov.extra_files[target] = src
        elif key == "wsgi_bind":
            for line in value.splitlines():
                if not line.strip():
                    continue
                app, sep, bind = (p.strip() for p in line.partition("="))
                if not sep or not app or not bind:
                    raise bad(cfg, f"[{OVERRIDE_SECTION}] wsgi_bind: {line.strip()!r} is not '<app> = <host>:<port>'",
                              "e.g. demo-api = 0.0.0.0:8080", line_of(raw, line.strip(), start))
                ov.wsgi_bind[app] = bind
        elif key == "unit_overrides":
            for line in value.splitlines():
                if not line.strip():
                    continue
                lhs, sep, val = line.partition("=")
                service, dot, unit_key = lhs.strip().rpartition(".")
                if not sep or not dot or not service or not unit_key:
                    raise bad(cfg, f"[{OVERRIDE_SECTION}] unit_overrides: {line.strip()!r} is not "
                              "'<service>.<Key> = <value>'", "e.g. apollo-api.LimitNOFILE = 65536",
                              line_of(raw, line.strip(), start))
                ov.unit_overrides.setdefault(service, {})[unit_key] = val.strip()
        else:
            setattr(ov, key, value.strip())
    return ov
