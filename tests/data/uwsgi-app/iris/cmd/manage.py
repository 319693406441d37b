"""iris-manage: a one-shot command (a tool: it serves nothing)."""
import sys


def main() -> None:
    print("iris-manage: nothing to do")
    sys.exit(0)
