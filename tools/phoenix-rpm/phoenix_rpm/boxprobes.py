"""Small Python programs run *inside* the box with its own python3 (no extra packages).

Shared by the verify stage (phoenix_rpm.verify) and the testinfra suite
(phoenix_rpm/infra), so both find a unit's ports and judge its stability the
same way (docs/verify.md, "Health"). Each is a file of phoenix_rpm/inbox whose text is passed to
``python3 -c`` with JSON arguments; each prints one JSON document.
"""
from __future__ import annotations

import json
import shlex
from typing import Sequence

from phoenix_rpm import inbox

# The programs themselves are real files of inbox/ (stdlib only), linted and
# tested like the rest; the suite passes their text to ``python3 -c`` over ssh.
LISTEN_PY = inbox.source("listen_ports")
SETTLE_PY = inbox.source("settle_watch")

SETTLE_UNIT = "phoenix-verify-settle.service"
SETTLE_OUT = "/var/lib/phoenix-verify/settle.json"


def settle_start_script(units: Sequence[str], settle: float) -> str:
    """Shell that starts the settle watch in the background, as a transient unit.

    Started by the stage as soon as the units are ready, so the watch runs
    while the suite runs; the suite's check waits for its result (and starts
    it itself when run by hand against a box).
    """
    program = shlex.quote(SETTLE_PY)
    args = f"{shlex.quote(json.dumps(list(units)))} {settle:g}"
    return (f"mkdir -p /var/lib/phoenix-verify && rm -f {SETTLE_OUT} && "
            f"systemd-run --quiet --collect --unit={SETTLE_UNIT} "
            f"-p StandardOutput=truncate:{SETTLE_OUT} -p StandardError=journal "
            f"/usr/bin/python3 -c {program} {args}")
