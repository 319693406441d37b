"""apollo-api: the HTTP service."""
# Eventlet first, before anything else is imported (docs/framework.md, "Start-up path").
from phoenix.common import patching  # noqa: E402  (imports nothing but stdlib)

patching.defer_sighup()  # a reload asked for during start-up waits for it
patching.patch_for()

import sys  # noqa: E402

from phoenix.common import utils  # noqa: E402


def main() -> None:
    utils.init_env('apollo')
    from apollo import objects
    objects.register_all()
    from apollo.cmd import backends
    from apollo.common import rpc
    from apollo.server import audit, engine
    from phoenix.server import eventlet as eventlet_server
    # HTTP workers, plus the rpc workers that perform the jobs the API casts
    # and the notification workers that keep the audit trail; the last two
    # run only when a transport_url is configured (docs/framework.md).
    sys.exit(eventlet_server.run(topic=rpc.TOPIC, manager=engine.EngineManager,
                                 serializer=rpc.serializer(),
                                 kinds=('wsgi', 'rpc', 'notification'),
                                 notification_endpoints=audit.endpoints,
                                 load_extra_backends_fn=backends.load_backends))


if __name__ == '__main__':
    main()
