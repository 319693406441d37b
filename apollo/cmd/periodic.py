"""apollo-periodic: the non-HTTP service that expires items and writes snapshots."""
# Eventlet first, before anything else is imported (docs/framework.md, "Start-up path").
from phoenix.common import patching  # noqa: E402

patching.defer_sighup()  # a reload asked for during start-up waits for it
patching.patch_for()

import sys  # noqa: E402

from phoenix.common import utils  # noqa: E402


def main() -> None:
    utils.init_env('apollo')
    from apollo import objects
    objects.register_all()
    from apollo.cmd import backends
    from apollo.server.periodic import PeriodicManager
    from phoenix.server import eventlet as eventlet_server
    sys.exit(eventlet_server.run(kinds=('periodic',), manager=PeriodicManager,
                                 load_extra_backends_fn=backends.load_backends))


if __name__ == '__main__':
    main()
