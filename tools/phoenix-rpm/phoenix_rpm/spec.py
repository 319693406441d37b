"""Render ``rpm/<name>.spec`` from the plan with a Jinja2 template.

The template (``templates/spec.j2``) holds layout only; what goes where was
decided in ``plan.py``. A project can replace any template by putting a file
of the same name in its ``rpm/templates/`` folder (the toolkit's own is the
fallback), for example to add a sub-package.
"""
from __future__ import annotations

from pathlib import Path

import jinja2

from phoenix_rpm import rpmtext
from phoenix_rpm.plan import SpecPlan
from phoenix_rpm.units import GENERATED_MARK

TEMPLATES = Path(__file__).with_name("templates")
PROJECT_TEMPLATES = Path("rpm") / "templates"


_ENVIRONMENTS: dict[str, jinja2.Environment] = {}


def environment(project_dir: Path) -> jinja2.Environment:
    """Project templates first, then the toolkit's.

    One environment per project folder, kept: compiling the templates is most
    of the cost of a run, and Jinja2 re-reads a template whose file changed.
    """
    key = str(project_dir)
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = _make_environment(project_dir)
    return _ENVIRONMENTS[key]


def _make_environment(project_dir: Path) -> jinja2.Environment:
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(project_dir / PROJECT_TEMPLATES)),
        jinja2.FileSystemLoader(str(TEMPLATES)),
    ])
    env = jinja2.Environment(
        loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, autoescape=False,
    )
    env.filters.update(
        rpm=rpmtext.macro_escape,
        files=rpmtext.files_path,
        prefixed=rpmtext.files_path,
        sh=rpmtext.sh,
        buildroot=_buildroot,
        localstate=_localstate,
        usr=_usr,
    )
    return env


def _buildroot(path: str) -> str:
    return rpmtext.buildroot_path(path).replace("%{buildroot}/etc/", "%{buildroot}%{_sysconfdir}/", 1)


def _usr(path: str) -> str:
    """/usr/... as %{_exec_prefix}/...

    rpmlint's hardcoded-library-path is about %{_libdir} (lib vs lib64) and
    flags any literal /usr/lib or %{_prefix}/lib; /usr/lib/<name> is the
    arch-independent place for a package's private tree (FHS), the same on
    every distribution, so it is written through %{_exec_prefix} (= /usr).
    """
    return "%{_exec_prefix}/" + rpmtext.macro_escape(path[len("/usr/"):]) if path.startswith("/usr/") \
        else rpmtext.macro_escape(path)


def _localstate(path: str) -> str:
    return "%{_localstatedir}/" + rpmtext.macro_escape(path[len("/var/"):]) if path.startswith("/var/") \
        else rpmtext.macro_escape(path)


def source_destinations(plan: SpecPlan) -> dict[str, str]:
    """Where each generated systemd/ file is installed (as %{buildroot} paths)."""
    out = {s.unit: f"%{{buildroot}}%{{_unitdir}}/{s.unit}" for s in plan.services}
    out[f"{plan.name}.sysusers"] = f"%{{buildroot}}%{{_sysusersdir}}/{plan.name}.conf"
    out[f"{plan.name}.tmpfiles"] = f"%{{buildroot}}%{{_tmpfilesdir}}/{plan.name}.conf"
    out[f"{plan.name}.logrotate"] = f"%{{buildroot}}%{{_sysconfdir}}/logrotate.d/{plan.name}"
    return out


def render_spec(plan: SpecPlan, env: jinja2.Environment | None = None) -> str:
    env = env or environment(plan.project_dir)
    sysusers_source = next((n for n, f, _ in plan.sources if f.endswith(".sysusers")), None)
    context = {
        "plan": plan,
        "mark": GENERATED_MARK,
        "config_name": plan.config_file.name,
        "description": rpmtext.macro_escape(rpmtext.wrap(plan.description)),
        "units": " ".join(s.unit for s in plan.services),
        "source_dest": source_destinations(plan),
        "sysusers_source": sysusers_source,
        "changelog_date": rpmtext.changelog_date(plan.changelog_epoch),
        "top_packages": sorted({p.split(".")[0] for p in plan.packages}),
        "dist_name": plan.name.replace("-", "_"),
    }
    return env.get_template("spec.j2").render(context)
