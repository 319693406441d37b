"""The workload of the ops scenarios: the project's profile, or the generic default.

The toolkit knows how to load a service, kill its processes, restart and
reload it; only the service knows which requests are realistic and which
hostile requests its API must refuse. A project names its profile in
setup.cfg (or ``[tool.phoenix.ops] profile = "..."`` in pyproject.toml)::

    [phoenix:ops]
    profile = ops-profile/apollo.py

The profile is a Python file (stdlib plus ``phoenix_rpm.ops.badinput``);
every name in it is optional and falls back to the generic default below
(docs/reliability.md, "The workload profile"):

``MIX``            what the load line says the mix is;
``WRK_SCRIPT``     a wrk Lua file beside the profile defining ``request()``
                   (``init(args)`` gets a run token, then the seeded ids);
``seed(request, n, prefix)``     create record n, return a JSON dict with
                   its ``id`` (raise to report a failure);
``check(request, record)``       None if the record reads back intact,
                   ``"changed"``, or why it is missing;
``steady(request, worker, i, prefix)`` one request of the restart load,
                   returning ``(status, body)``;
``RELOAD``         ``{"section", "option", "value", "path", "shows"}``: the
                   option the reload scenario changes and what GET ``path``
                   shows once applied (``{token}``, ``{port}``, ``{value}``
                   are filled in);
``bad_input(existing, limits)``  the hostile table, a list of
                   :class:`phoenix_rpm.ops.badinput.Case`.

The message-bus scenarios (broker restart, rpc worker kill; bus.py) run only
when the profile says which requests go over the bus (all three of
``cast``, ``performed`` and ``call``) and the verify profile starts a broker:

``bus_setup(request, prefix)``   optional: create what the bus requests act
                   on, return a JSON dict (``state``) given to the others;
``cast(request, state, worker, i)``  one request whose work the service
                   casts: ``("accepted", record)`` (the client was told it
                   will be done), ``("refused", record)`` (the client was
                   told it will not be done), or ``("error", {"why": ...})``;
``performed(request, state, record)``  ``"done"``, ``"pending"``,
                   ``"failed"``, or why the record cannot be read;
``call(request, state, worker, i)``  one request answered through an RPC
                   call (a round trip), returning ``(status, body)``;
``bus_tally(request, state, accepted, refused)``  optional whole-run check
                   (e.g. a counter equals the accepted casts: nothing
                   performed twice); None or what is wrong.

``request(method, path, body=None)`` (given by the toolkit) sends one
request with a JSON body on a new connection and returns ``(status, bytes)``.
The generic default loads and probes only the health check path of the
verify plan, seeds nothing, reloads without changing an option (MainPID
must stay) and sends the hostile requests any HTTP service must refuse.
"""
from __future__ import annotations

import configparser
import dataclasses
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, Callable

import tomllib

from phoenix_rpm.errors import UserError
from phoenix_rpm.ops import badinput

HERE = Path(__file__).resolve().parent
GENERIC_LUA = HERE / "generic.lua"
GENERIC_MIX = "GET of the health check"
#: what a profile defines for the message-bus scenarios: all or none
BUS_NAMES = ("cast", "performed", "call")
BUS_OPTIONAL = ("bus_setup", "bus_tally")


@dataclasses.dataclass(frozen=True)
class Reload:
    """The option the reload scenario changes, and how the API shows it."""

    section: str
    option: str
    value: str      # may hold {token} and {port}
    path: str       # GET this path to see the change
    shows: str      # the body contains this once applied ({value} filled in)


@dataclasses.dataclass(frozen=True)
class Profile:
    """A loaded workload profile (``path`` None: the generic default)."""

    path: Path | None
    mix: str
    wrk_script: Path
    seeds: bool
    reload: Reload | None
    bad_input: Callable[[dict[str, Any], badinput.Limits], list[badinput.Case]]
    health: str = "/healthcheck"
    bus: bool = False  # defines cast(), performed() and call(): the bus scenarios can run

    def describe(self) -> str:
        return str(self.path) if self.path else "the generic default"


def declared(project_dir: Path) -> tuple[Path, str] | None:
    """The profile file the project names, with where it names it; None if it names none."""
    setup_cfg = project_dir / "setup.cfg"
    if setup_cfg.is_file():
        cfg = configparser.ConfigParser(interpolation=None)
        try:
            cfg.read(setup_cfg, encoding="utf-8")
        except configparser.Error as exc:
            raise UserError(f"{setup_cfg}: cannot parse ({exc}); fix the file") from None
        if cfg.has_option("phoenix:ops", "profile"):
            return project_dir / cfg.get("phoenix:ops", "profile").strip(), f"{setup_cfg} [phoenix:ops] profile"
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{pyproject}: cannot parse ({exc}); fix the file") from None
        value = data.get("tool", {}).get("phoenix", {}).get("ops", {}).get("profile")
        if value is not None:
            where = f"{pyproject} [tool.phoenix.ops] profile"
            if not isinstance(value, str):
                raise UserError(f"{where} = {value!r} is not a string; write profile = \"path/to/profile.py\"")
            return project_dir / value, where
    return None


def import_file(path: Path) -> types.ModuleType:
    """Import a profile file under a name of its own (also used by the ops client)."""
    spec = importlib.util.spec_from_file_location(f"phoenix_ops_profile_{abs(hash(str(path)))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def default(health: str = "/healthcheck") -> Profile:
    """The generic workload: only what any HTTP service under test must do."""
    return Profile(path=None, mix=GENERIC_MIX, wrk_script=GENERIC_LUA, seeds=False, reload=None,
                   bad_input=lambda existing, limits: badinput.generic_cases(health, limits), health=health)


def load(project_dir: Path | None, health: str = "/healthcheck") -> Profile:
    """The project's profile (UserError naming the key when it is broken), else the default."""
    found = declared(Path(project_dir)) if project_dir is not None else None
    if found is None:
        return default(health)
    path, where = found
    if not path.is_file():
        raise UserError(f"{where}: {path} does not exist; name a Python file of the project "
                        "(docs/reliability.md, \"The workload profile\")")
    try:
        module = import_file(path)
    except Exception as exc:  # the project's code: any error is the project's to fix
        raise UserError(f"{where}: {path} does not import: {type(exc).__name__}: {exc}") from None
    base = default(health)
    script = base.wrk_script
    if hasattr(module, "WRK_SCRIPT"):
        script = path.parent / str(module.WRK_SCRIPT)
        if not script.is_file():
            raise UserError(f"{path}: WRK_SCRIPT = {module.WRK_SCRIPT!r}: {script} does not exist; "
                            "name a wrk Lua file beside the profile")
    reload = base.reload
    if hasattr(module, "RELOAD"):
        try:
            reload = Reload(**module.RELOAD)
        except TypeError as exc:
            raise UserError(f"{path}: RELOAD: {exc}; give section, option, value, path and shows") from None
    bad = getattr(module, "bad_input", base.bad_input)
    for name in ("seed", "check", "steady", "bad_input", *BUS_NAMES, *BUS_OPTIONAL):
        if hasattr(module, name) and not callable(getattr(module, name)):
            raise UserError(f"{path}: {name} is not a function; define def {name}(...)")
    if hasattr(module, "check") != hasattr(module, "seed"):
        raise UserError(f"{path}: define both seed() and check() or neither (main crash reads back what seed wrote)")
    bus = [name for name in BUS_NAMES if hasattr(module, name)]
    if bus and len(bus) != len(BUS_NAMES):
        missing = [name for name in BUS_NAMES if name not in bus]
        raise UserError(f"{path}: defines {', '.join(f'{n}()' for n in bus)} but not "
                        f"{', '.join(f'{n}()' for n in missing)}; the bus scenarios need all of "
                        f"{', '.join(f'{n}()' for n in BUS_NAMES)} (or none)")
    for name in BUS_OPTIONAL:
        if hasattr(module, name) and not bus:
            raise UserError(f"{path}: {name}() without cast(), performed() and call(); define them too "
                            "or drop it")
    return Profile(path=path, mix=str(getattr(module, "MIX", base.mix)), wrk_script=script,
                   seeds=hasattr(module, "seed"), reload=reload, bad_input=bad, health=health,
                   bus=bool(bus))
