"""The database schema: present once setup ran and the units started.

Collected only when the profile needs a SQL server (conftest.py): a package
with no database has no schema to check. The tables are read as root from
the server's own catalog, so the check does not depend on the service's
credentials (docs/verify.md, "Database schema").
"""
from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from infra_helpers import Meta, sh

if TYPE_CHECKING:
    from testinfra.host import Host


def _tables(host: Host, meta: Meta) -> tuple[list[str], str]:
    """(tables of the package's database, the command that listed them)."""
    db = meta.database
    if "postgresql" in meta.needs:
        query = ("SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
                 "ORDER BY 1")
        cmd = f"cd / && runuser -u postgres -- psql -d {shlex.quote(db)} -Atc {shlex.quote(query)}"
    else:
        query = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{db}' ORDER BY 1"
        cmd = f"mariadb -N -B -e {shlex.quote(query)}"
    out = sh(host, cmd)
    assert out.rc == 0, f"database {db}: cannot list its tables ({cmd}: {(out.stderr or out.stdout).strip()})"
    return [t for t in out.stdout.split() if t], cmd


def test_database_schema_present(host: Host, meta: Meta) -> None:
    tables, cmd = _tables(host, meta)
    server = "postgresql" if "postgresql" in meta.needs else "mariadb"
    assert tables, (f"database {meta.database} ({server}) holds no table after the setup commands and the "
                    "units' start: no schema was created (add the project's db sync command to "
                    f"[phoenix:verify] setup; listed with: {cmd})")
    missing = [t for t in meta.tables if t not in tables]
    assert not missing, (f"database {meta.database} ({server}) lacks table(s) {', '.join(missing)} named in "
                         f"[phoenix:verify] tables; it holds: {', '.join(tables[:30])}"
                         + (" ..." if len(tables) > 30 else ""))
