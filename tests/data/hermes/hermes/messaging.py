"""RabbitMQ through kombu: the [DEFAULT] transport_url, one queue of notes."""
import kombu

from hermes.conf import CONF

QUEUE = "hermes.notes"


def connection():
    url = CONF.transport_url
    if not url:
        raise RuntimeError("no [DEFAULT] transport_url configured: hermes needs RabbitMQ")
    if url.startswith("rabbit://"):  # oslo.messaging's scheme; AMQP 0-9-1 for kombu
        url = "amqp://" + url[len("rabbit://"):]
    conn = kombu.Connection(url, connect_timeout=5)
    conn.ensure_connection(max_retries=2, interval_start=0.5)
    return conn


def queue(conn):
    q = kombu.Queue(QUEUE, durable=True)
    return q(conn.default_channel)


def depth(conn):
    name, messages, consumers = queue(conn).queue_declare()
    return messages, consumers
