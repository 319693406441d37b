"""helios-worker: a plain long-running process, not built on phoenix."""
import time


def main():
    while True:
        time.sleep(60)
