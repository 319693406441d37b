"""The worker: a plain loop (no framework), stopped by SIGTERM's default action."""
from __future__ import annotations

import time


def main() -> None:
    while True:
        print("myservice-worker: tick", flush=True)
        time.sleep(30)
