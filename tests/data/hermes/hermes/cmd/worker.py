"""hermes-worker: a main process that forks workers and respawns the ones that die.

Each worker consumes the notes queue on RabbitMQ and hands every message to
[worker] handler (module:function), which stores it in MariaDB.
"""
import importlib
import os
import signal
import sys
import time
import traceback

from hermes import conf, messaging

RESPAWN_DELAY = 0.3


def _handler():
    module, _, func = conf.CONF.worker.handler.partition(":")
    return getattr(importlib.import_module(module), func)


def worker():
    handle = _handler()
    with messaging.connection() as conn:
        queue = messaging.queue(conn)

        def on_message(body, message):
            handle(body)
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message], accept=["json", "text/plain"]):
            print(f"hermes-worker[{os.getpid()}]: consuming {messaging.QUEUE}", flush=True)
            while True:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
                except OSError as exc:
                    if "timed out" not in str(exc):
                        raise


def spawn():
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            worker()
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            code = 1
        os._exit(code)
    return pid


def main():
    conf.load([])
    children = {spawn() for _ in range(conf.CONF.worker.workers)}
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        children.discard(pid)
        if stopping:
            continue
        print(f"hermes-worker: worker {pid} exited (status {status}); respawning", flush=True)
        time.sleep(RESPAWN_DELAY)
        children.add(spawn())
    return 0


if __name__ == "__main__":
    sys.exit(main())
