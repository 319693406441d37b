"""The ops toolkit's stdlib AMQP client (phoenix_rpm/inbox/amqp_bus.py) against a real RabbitMQ.

The malformed-message scenario of ``--verify --ops`` runs it in the box;
here it publishes to the session's private broker (conftest.rabbitmq) and
kombu, a real AMQP client, reads back what arrived, so the hand-written
frames are checked against the broker and not against themselves.
"""
from __future__ import annotations

import json
import subprocess
import sys

from phoenix_rpm import inbox


def _run(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", inbox.source('amqp_bus'), *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_malformed_messages_reach_the_topic_queue_and_depth_counts_them(rabbitmq, tmp_path):
    import kombu
    conf = tmp_path / 'svc.conf'
    conf.write_text('[DEFAULT]\ntransport_url = %s\n' % rabbitmq.url)
    dropin = tmp_path / 'none.conf'  # a missing drop-in is skipped, as oslo.config does
    with kombu.Connection('amqp://guest:guest@127.0.0.1:%d//' % rabbitmq.port) as conn:
        queue = kombu.Queue('phoenix-ops-topic', durable=False, auto_delete=False)
        queue(conn.channel()).declare()
        try:
            sent = _run('malformed', 'phoenix-ops-topic', str(conf), str(dropin))
            assert sent['queue'] == 'phoenix-ops-topic' and len(sent['published']) == 4, sent
            depth = _run('depth', 'phoenix-ops-topic', str(conf))
            assert depth == {'messages': 4, 'consumers': 0}, depth
            got = []
            bound = queue(conn.channel())
            while (message := bound.get(no_ack=True)) is not None:
                got.append((message.content_type, message.body))
            assert got[0] == ('application/octet-stream', b'\xff\xfe not json at all'), got
            assert json.loads(got[2][1])['oslo.version'] == '2.0', got
            assert _run('depth', 'phoenix-ops-topic', str(conf))['messages'] == 0
        finally:
            queue(conn.channel()).delete()


def test_a_missing_queue_is_a_clear_error(rabbitmq, tmp_path):
    conf = tmp_path / 'svc.conf'
    conf.write_text('[DEFAULT]\ntransport_url = %s\n' % rabbitmq.url)
    proc = subprocess.run([sys.executable, "-c", inbox.source('amqp_bus'), 'depth', 'no-such-queue', str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and '404 NOT_FOUND' in proc.stderr, proc.stderr
