"""selene-agent: a long-running agent built on phoenix."""
import phoenix.server.eventlet


def main():
    phoenix.server.eventlet.run()
