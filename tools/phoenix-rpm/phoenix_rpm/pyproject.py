"""Read a PEP 621 ``pyproject.toml`` (pbr.build backend) into the project model.

Same model as ``setupcfg.py``: ``[project]`` metadata, ``[project.scripts]``,
``[project.entry-points.wsgi_scripts]``, ``[tool.setuptools.data-files]``
(setuptools' glob syntax), ``[tool.phoenix.rpm]`` for overrides. The version
is static (``[project] version``) or, when listed in ``dynamic``, pbr's.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomllib

from phoenix_rpm import inputs, validate
from phoenix_rpm.inputs import bad
from phoenix_rpm.model import EntryPoint, Overrides, Project
from phoenix_rpm.setupcfg import LICENSE_NAMES, README_NAMES

TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def read_toml(path: Path) -> dict[str, Any]:
    inputs.project_file(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # TOML is UTF-8 only; decoding with replacement made a later key fail with an unrelated message
        line = raw[:exc.start].count(b"\n") + 1
        raise bad(path, f"not UTF-8 (byte 0x{raw[exc.start]:02x})", "save the file as UTF-8 (TOML requires it)",
                  line) from None
    if text.startswith("\ufeff"):
        raise bad(path, "starts with a byte-order mark (BOM), which TOML does not allow",
                  "save it as UTF-8 without a BOM", 1)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise bad(path, f"not valid TOML ({exc})", "fix the syntax", int(m.group(1)) if m else None) from None


def has_project_table(path: Path) -> bool:
    """A pyproject.toml that declares the project (not only build-system/tool config)."""
    return path.is_file() and "project" in read_toml(path)


def load(project_dir: Path) -> Project:
    path = project_dir / "pyproject.toml"
    data = read_toml(path)
    validate.pyproject_types(data, path)
    proj = data.get("project")
    if not isinstance(proj, dict):
        raise bad(path, "no [project] table", "add [project] with name = \"<project>\"")
    name = str(proj.get("name", "")).strip()
    if not name:
        raise bad(path, "[project] name is missing", "add name = \"<project>\"")
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", name):
        raise bad(path, f"[project] name {name!r} is not a valid rpm package name",
                  "use letters, digits, '.', '_', '+' and '-'")
    backend = str(data.get("build-system", {}).get("build-backend", ""))
    dynamic = proj.get("dynamic", []) or []
    declared = None if "version" in dynamic else (str(proj["version"]) if "version" in proj else None)
    if declared is None and "version" not in dynamic:
        raise bad(path, "[project] has no version and does not list it in dynamic",
                  "add version = \"1.0.0\" or dynamic = [\"version\"] (pbr computes it from git tags)")
    if declared is not None and backend != "pbr.build":
        version = declared  # a static version without pbr: taken as written
        if not inputs.RPM_VERSION.match(version):
            raise bad(path, f"[project] version {version!r} is not a valid rpm Version",
                      "use letters, digits, '.', '+' and '~' only (no '-')")
    else:
        version = inputs.pbr_version(project_dir, name, declared, path)
    license_value = proj.get("license", "")
    if isinstance(license_value, dict):
        license_value = license_value.get("text", "")
    urls = proj.get("urls", {}) or {}
    url = next((str(urls[k]) for k in ("Homepage", "homepage", "Home", "Source", "Repository") if k in urls),
               next(iter(map(str, urls.values())), ""))
    authors = proj.get("authors", []) or []
    author = authors[0] if authors and isinstance(authors[0], dict) else {}
    entry_points = _entry_points(proj, path)
    tool = data.get("tool", {}) or {}
    setuptools_cfg = tool.get("setuptools", {}) or {}
    data_files = []
    for target, patterns in (setuptools_cfg.get("data-files", {}) or {}).items():
        if not isinstance(patterns, list):
            raise bad(path, f"[tool.setuptools.data-files] {target!r} is not a list", "write target = [\"glob\", ...]")
        inputs.check_target(target, path, None, "[tool.setuptools.data-files]")
        data_files += inputs.expand_globs(project_dir, target, patterns, path, "[tool.setuptools.data-files]")
    inputs.check_duplicates(data_files, path, "[tool.setuptools.data-files]")
    _near_miss_tables(path, tool)
    phoenix_table = tool.get("phoenix", {}).get("rpm", {}) if isinstance(tool.get("phoenix"), dict) else {}
    overrides = _overrides(phoenix_table, path)
    # pbr (pbr.build, or setuptools with pbr's hooks) still reads setup.cfg:
    # [files] and [entry_points] there apply where pyproject.toml does not
    # say the same thing itself, group by group, as setuptools merges them
    # ([project] wins where present). See docs/packaging.md "Inputs".
    cfg = project_dir / "setup.cfg"
    merged = [f"{path.name} [project]"]
    plugin_groups = _plugin_groups(proj, path)
    scripts: list[str] = []
    packages_from_cfg: list[str] = []
    if cfg.is_file():
        from phoenix_rpm import setupcfg

        parser, raw = setupcfg.read_config(cfg)
        used = []
        files = parser["files"] if parser.has_section("files") else None
        if not data_files and files is not None and files.get("data_files"):
            data_files = inputs.expand_data_files(project_dir, files["data_files"], cfg, raw,
                                                  inputs.key_line(raw, "data_files"))
            used.append("[files] data_files")
        if files is not None and files.get("packages"):
            packages_from_cfg = inputs.split_list(files["packages"])
        if files is not None and files.get("scripts"):
            scripts = inputs.split_list(files["scripts"])
            for script in scripts:
                if not (project_dir / script).is_file():
                    raise bad(cfg, f"[files] scripts: {script!r} does not exist", "fix the path or remove it",
                              inputs.line_of(raw, script))
        declared_groups = {ep.group for ep in entry_points}
        cfg_eps = [ep for ep in setupcfg.entry_points(parser, cfg, raw) if ep.group not in declared_groups]
        taken = {ep.name for ep in entry_points}
        for ep in cfg_eps:
            if ep.name in taken:
                raise bad(cfg, f"[entry_points] script {ep.name!r} is also defined in {path.name}",
                          "define it in one file only", _line(ep.where))
        if cfg_eps:
            entry_points += cfg_eps
            used.append("[entry_points]")
        for group, table in setupcfg.entry_point_groups(parser).items():
            if group not in plugin_groups:
                plugin_groups[group] = table
                if "[entry_points]" not in used:
                    used.append("[entry_points]")
        if not phoenix_table and parser.has_section(setupcfg.OVERRIDE_SECTION):
            overrides = setupcfg.overrides(parser, cfg, raw)
            used.append(f"[{setupcfg.OVERRIDE_SECTION}]")
        if used:
            merged.append(f"{cfg.name} " + ", ".join(used))
    if "dependencies" in dynamic or "dependencies" not in proj:
        requirements = inputs.read_requirements(project_dir / "requirements.txt")
    else:
        deps = proj.get("dependencies") or []
        requirements = inputs.parse_requirement_lines(((None, d) for d in deps), path, "[project] dependencies: ")
    packages_cfg = setuptools_cfg.get("packages", [])
    packages = list(packages_cfg) if isinstance(packages_cfg, list) and packages_cfg else \
        (packages_from_cfg or _find_packages(project_dir, name))
    readme = proj.get("readme")
    if isinstance(readme, dict):
        readme = readme.get("file")
    docs = [readme] if isinstance(readme, str) and (project_dir / readme).is_file() else \
        [n for n in README_NAMES if (project_dir / n).is_file()][:1]
    return Project(
        project_dir=project_dir,
        config_file=path,
        name=name,
        version=version,
        summary=str(proj.get("description", "")).strip() or name,
        license=str(license_value).strip(),
        url=url,
        author=str(author.get("name", "")),
        author_email=str(author.get("email", "")),
        description="",
        packages=packages,
        packages_root=str((setuptools_cfg.get("package-dir", {}) or {}).get("", "")),
        data_files=data_files,
        entry_points=entry_points,
        requirements=requirements,
        overrides=overrides,
        license_files=_license_files(project_dir, proj.get("license")),
        doc_files=docs,
        extra={"scripts": scripts},
        plugin_entry_points=plugin_groups,
        merged_from=" + ".join(merged),
    )


def _license_files(project_dir: Path, license_value: object) -> list[str]:
    """The usual LICENSE names, plus ``license = {file = "..."}`` (checked inside the project by validate.py)."""
    found = [n for n in LICENSE_NAMES if (project_dir / n).is_file()]
    named = license_value.get("file") if isinstance(license_value, dict) else None
    if isinstance(named, str) and named not in found and (project_dir / named).is_file():
        found.append(named)
    return found


def _line(where: str) -> int | None:
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _find_packages(project_dir: Path, name: str) -> list[str]:
    """No packages listed: the top-level folders with an __init__.py, as setuptools' discovery finds.

    An sdist such as python-watcher has its code in ``watcher/``, not
    ``python_watcher/``; tests and docs folders are left out like setuptools does.
    """
    skip = {"tests", "test", "doc", "docs", "examples", "tools", "releasenotes", "devstack", "playbooks",
            "api-ref", "rally-jobs", "contrib", "integration", "functionaltests", "build", "dist"}
    found = sorted(p.parent.name for p in project_dir.glob("*/__init__.py")
                   if p.parent.name.isidentifier() and p.parent.name not in skip
                   and not p.parent.name.endswith("_integrationtests"))
    guess = name.replace("-", "_")
    return found or [guess]


def _plugin_groups(proj: dict[str, Any], path: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for group, table in (proj.get("entry-points", {}) or {}).items():
        if group in ("wsgi_scripts", "console_scripts") or not isinstance(table, dict):
            continue
        out[str(group)] = {str(k): str(v) for k, v in table.items()}
    return out


def _entry_points(proj: dict[str, Any], path: Path) -> list[EntryPoint]:
    eps = proj.get("entry-points", {}) or {}
    groups: list[tuple[str, str, dict[str, Any]]] = [
        ("console_scripts", "[project.scripts]", proj.get("scripts", {}) or {}),
        # setuptools also takes console scripts written as an entry point group
        ("console_scripts", '[project.entry-points."console_scripts"]', eps.get("console_scripts", {}) or {}),
        ("wsgi_scripts", "[project.entry-points.wsgi_scripts]",
         (proj.get("entry-points", {}) or {}).get("wsgi_scripts", {}) or {}),
    ]
    out: list[EntryPoint] = []
    seen: set[str] = set()
    for group, label, table in groups:
        for name, target in table.items():
            target = re.sub(r"\s*\[.*\]$", "", str(target)).replace(" ", "")
            if not TARGET.match(target):
                raise bad(path, f"{label} {name} = {target!r} is not 'package.module:function'",
                          "fix the entry point")
            if name in seen:
                raise bad(path, f"{label} script {name!r} is defined twice", "rename one of them")
            seen.add(name)
            module, func = target.split(":", 1)
            out.append(EntryPoint(name, module, func, group, f"{path.name} {label}"))
    return out


def _near_miss_tables(path: Path, tool: Any) -> None:
    """``[tool.Phoenix.rpm]``, ``[tool.phoenix-rpm]``, ``[tool.phoenix.RPM]``: read by nobody, so refused."""
    if not isinstance(tool, dict):
        return
    for name, value in tool.items():
        squashed = re.sub(r"[\s_.:-]+", "", str(name).lower())
        # only our own names: [tool.phoenixdb] belongs to some other tool
        if squashed in ("phoenix", "phoenixrpm", "phoenixverify", "phoenixops") and name != "phoenix":
            raise bad(path, f"[tool.{name}] is read by nobody (table names are case- and spelling-sensitive)",
                      "write [tool.phoenix.rpm] (packaging) or [tool.phoenix.verify] (verification)")
        if name == "phoenix" and isinstance(value, dict):
            for sub in value:
                if sub not in ("rpm", "verify", "ops"):
                    raise bad(path, f"[tool.phoenix.{sub}] is read by nobody",
                              "write [tool.phoenix.rpm] (packaging) or [tool.phoenix.verify] (verification)")


def _overrides(table: dict[str, Any], path: Path) -> Overrides:
    ov = Overrides(source=f"{path} [tool.phoenix.rpm]")
    for key, value in table.items():
        if key not in inputs.OVERRIDE_KEYS:
            raise bad(path, f"[tool.phoenix.rpm] unknown key {key!r}", "use one of: " + ", ".join(inputs.OVERRIDE_KEYS))
        if key in ("services", "tools"):
            if not isinstance(value, list):
                raise bad(path, f"[tool.phoenix.rpm] {key} is not a list", f"write {key} = [\"name\", ...]")
            setattr(ov, key, [str(v) for v in value])
        elif key in ("extras", "requirements"):
            if isinstance(value, str) and key == "extras":
                value = inputs.split_list(value)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad(path, f"[tool.phoenix.rpm] {key} is not a list of strings",
                          f"write {key} = [\"...\", ...]")
            setattr(ov, key, [v.strip() for v in value if v.strip()])
        elif key in ("logrotate", "allow_privileged", "allow_system_paths"):
            if not isinstance(value, bool):
                raise bad(path, f"[tool.phoenix.rpm] {key} = {value!r} is not a boolean", "write true or false")
            setattr(ov, key, value)
        elif key == "extra_files":
            if not isinstance(value, dict):
                raise bad(path, "[tool.phoenix.rpm] extra_files is not a table", "write {\"/target\" = \"source\"}")
            ov.extra_files = {str(k): str(v) for k, v in value.items()}
        elif key == "wsgi_bind":
            if not isinstance(value, dict):
                raise bad(path, "[tool.phoenix.rpm] wsgi_bind is not a table", "write {\"<app>\" = \"host:port\"}")
            ov.wsgi_bind = {str(k): str(v) for k, v in value.items()}
        elif key == "unit_overrides":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise bad(path, "[tool.phoenix.rpm] unit_overrides is not a table of tables",
                          "write [tool.phoenix.rpm.unit_overrides.<service>] Key = \"value\"")
            ov.unit_overrides = {str(s): {str(k): str(v) for k, v in kv.items()} for s, kv in value.items()}
        else:
            setattr(ov, key, str(value))
    return ov
