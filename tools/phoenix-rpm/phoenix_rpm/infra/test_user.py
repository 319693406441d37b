"""The service user: exists, is a system account, cannot log in."""
from __future__ import annotations

from typing import TYPE_CHECKING

from infra_helpers import Meta, sh

if TYPE_CHECKING:
    from testinfra.host import Host

NOLOGIN_SHELLS = {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"}


def _sys_uid_max(host: Host) -> int:
    """SYS_UID_MAX of the box's login.defs (999 on Debian and Fedora when unset)."""
    for line in sh(host, "cat /etc/login.defs 2>/dev/null").stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "SYS_UID_MAX" and parts[1].isdigit():
            return int(parts[1])
    return 999


def test_service_user_exists(host: Host, meta: Meta) -> None:
    assert host.user(meta.user).exists, f"service user {meta.user} does not exist"


def test_service_user_is_system_user(host: Host, meta: Meta) -> None:
    user = host.user(meta.user)
    assert user.exists, f"service user {meta.user} does not exist"
    limit = _sys_uid_max(host)
    assert 0 < user.uid <= limit, (
        f"service user {meta.user} has uid {user.uid}: not a system user (expected 1..{limit})"
    )
    assert host.group(meta.group).exists, f"service group {meta.group} does not exist"


def test_service_user_has_nologin_shell(host: Host, meta: Meta) -> None:
    user = host.user(meta.user)
    assert user.exists, f"service user {meta.user} does not exist"
    assert user.shell in NOLOGIN_SHELLS, (
        f"service user {meta.user} has login shell {user.shell}, expected a nologin shell"
    )
