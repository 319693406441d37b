"""Render ``rpm/<name>.spec`` from the plan with a Jinja2 template.

The templates (``templates/spec.j2`` and its includes in ``templates/spec/``)
hold layout only; what goes where was decided in ``plan.py`` and the values
they lay out are computed in ``speccontext.py``. A project can replace any template by putting a file
of the same name in its ``rpm/templates/`` folder (the toolkit's own is the
fallback), for example to add a sub-package.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from phoenix_rpm import configgen, escape, rpmtext, speccontext
from phoenix_rpm.plan import SpecPlan

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


class ProjectSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, also bounding ``*`` and ``**``.

    The sandbox stops attribute tricks but not ``{{ 'x' * 10**12 }}``, which
    would take the memory or the CPU of a ``--check`` run. A template lays
    out text: it needs neither.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: object, right: object) -> object:
        if operator == "**":
            raise SecurityError("'**' is not available in templates")
        def size(value: object) -> int:
            if isinstance(value, (str, list, tuple)):
                return len(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return abs(value)
            return 1

        if size(left) * size(right) > 1_000_000:
            raise SecurityError("a multiplication result too large for a template")
        return super().call_binop(context, operator, left, right)


class ContainedLoader(jinja2.FileSystemLoader):
    """The project's templates, refusing one that is a symlink out of its folder.

    ``{% include "x" %}`` of a symlink to /etc/shadow would otherwise copy a
    host file into the generated spec (docs/packaging.md, "Hostile input").
    """

    def __init__(self, searchpath: str, root: Path) -> None:
        super().__init__(searchpath)
        self.root = os.path.realpath(root)

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:  # Jinja2's signature
        source, filename, uptodate = super().get_source(environment, template)
        real = os.path.realpath(filename)
        # inside rpm/templates *and* inside the project: "rpm/templates -> /some/host/folder"
        # would otherwise make that folder's files the project's templates
        if not any(real.startswith(os.path.realpath(p) + os.sep) for p in self.searchpath) \
                or not real.startswith(self.root + os.sep):
            raise jinja2.TemplateError(f"template {template!r} is a symlink out of rpm/templates (to {real})")
        return source, filename, uptodate


def _make_environment(project_dir: Path) -> jinja2.Environment:
    """The sandboxed environment every template renders in, with escaping by default.

    Sandboxed (``ImmutableSandboxedEnvironment``) because a project may put
    its own templates in ``rpm/templates/``: they lay out text, they must not
    run Python or change the plan during ``generate`` and ``--check``.
    ``finalize`` escapes every ``{{ ... }}`` for the language of its
    template (escape.py); filters name the other contexts (shell words,
    %files paths) and return ``escape.Trusted`` text the default leaves alone.
    """
    loader = jinja2.ChoiceLoader([
        ContainedLoader(str(project_dir / PROJECT_TEMPLATES), project_dir),
        jinja2.FileSystemLoader(str(TEMPLATES)),
    ])
    env = ProjectSandbox(
        loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, autoescape=False, finalize=escape.finalize,
    )
    env.filters.update(escape.FILTERS)
    env.filters.update(
        rpm=escape.spec_value,
        files=rpmtext.files_path,
        prefixed=rpmtext.files_path,
        sh=escape.shell_word,
        buildroot=speccontext.buildroot,
        localstate=_localstate,
        usr=speccontext.usr,
    )
    return env


def _localstate(path: str) -> str:
    if path.startswith("/var/"):
        return escape.Trusted("%{_localstatedir}/" + escape.spec_value(path[len("/var/"):]))
    return escape.spec_value(path)


def render_spec(plan: SpecPlan, env: jinja2.Environment | None = None) -> str:
    """``templates/spec.j2`` over the plan and its ``SpecContext`` (speccontext.py).

    ``spec`` is what the templates read; the older names (``units``,
    ``source_dest``, ``generators``...) stay in the context for project
    templates written against them (rpm/templates, docs/packaging.md).
    """
    env = env or environment(plan.project_dir)
    ctx = speccontext.spec_context(plan)
    context = {
        "plan": plan,
        "spec": ctx,
        "mark": ctx.mark,
        "config_name": ctx.config_name,
        "description": ctx.description,
        "units": ctx.units,
        "source_dest": speccontext.source_destinations(plan),
        "sysusers_source": ctx.sysusers_source,
        "changelog_date": ctx.changelog_date,
        "top_packages": list(ctx.top_packages),
        "dist_name": ctx.dist_name,
        "generators": [(g.generator.kind, configgen.generator_argv(g.generator), g.dest)
                       for g in plan.generated_config],
    }
    return env.get_template("spec.j2").render(context)
