"""hermes-manage db sync: create the schema (run once before the services start)."""
import sys

from hermes import conf, db


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf.load([])
    if argv[:2] != ["db", "sync"]:
        print("usage: hermes-manage db sync", file=sys.stderr)
        return 2
    db.sync()
    print("hermes: database schema at version 1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
