"""helios-api: a phoenix WSGI service (the toolkit reads this file, never imports it)."""
from phoenix.server import eventlet as server


def main():
    server.run()
