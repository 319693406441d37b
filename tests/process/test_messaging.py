"""RPC and notification workers of apollo-api on a real RabbitMQ (the
session's private node, conftest.rabbitmq): cast, call, notifications,
signals, and the configuration errors."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time

import pytest
from apollo_proc import free_ports, http, wait_for

DURABLE = {'oslo_messaging_rabbit': {'amqp_durable_queues': 'true'}}


def bus_options(rabbitmq, **extra):
    options = dict(transport_url=rabbitmq.url, rpc_workers=1, notification_workers=1,
                   rpc_response_timeout=5, wsgi_workers=2)
    options.update(extra)
    return options


def start_bus(start, rabbitmq, **extra):
    options = bus_options(rabbitmq, **extra)
    expected = options['wsgi_workers'] + options['rpc_workers'] + options['notification_workers']
    api = start(sections=DURABLE, expect_workers=expected, **options)
    wait_for(lambda: api.output().count('consuming:') >= options['rpc_workers']
             + options['notification_workers'], 30, what='workers consuming')
    return api


def new_item(api, name, value=0):
    status, body, _ = http('POST', api.url('/v1/items'), {'name': name, 'value': value})
    assert status == 201, body
    return body['item']


def job_done(api, job_id):
    status, body, _ = http('GET', api.url('/v1/jobs/%s' % job_id))
    assert status == 200, body
    return body['job'] if body['job']['status'] != 'queued' else None


def publish(rabbitmq, body: bytes, ctype: str = 'application/json') -> None:
    """A raw AMQP message on the engine's topic (not through oslo.messaging)."""
    import kombu
    with kombu.Connection('amqp://guest:guest@127.0.0.1:%d//' % rabbitmq.port) as conn:
        conn.Producer().publish(
            body, exchange=kombu.Exchange('apollo', type='topic', durable=True),
            routing_key='apollo-engine', content_type=ctype,
            content_encoding='binary' if ctype == 'application/octet-stream' else 'utf-8')


def engine_queue_depth(rabbitmq, purge: bool = False) -> int:
    import kombu
    with kombu.Connection('amqp://guest:guest@127.0.0.1:%d//' % rabbitmq.port) as conn:
        queue = kombu.Queue('apollo-engine', exchange=kombu.Exchange(
            'apollo', type='topic', durable=True), routing_key='apollo-engine', durable=True)
        bound = queue(conn.channel())
        _name, messages, _consumers = bound.queue_declare(passive=True)
        if purge:
            bound.purge()
    return messages


def test_cast_call_and_notifications_end_to_end(start, rabbitmq):
    api = start_bus(start, rabbitmq, rpc_workers=2)
    item = new_item(api, 'bus', 5)
    # cast: accepted (202), performed by an rpc worker, recorded
    status, body, headers = http('POST', api.url('/v1/items/%s/actions' % item['id']),
                                 {'action': 'increment', 'by': 3})
    assert status == 202, body
    assert headers['Location'].endswith('/v1/jobs/%s' % body['job']['id'])
    job = wait_for(lambda: job_done(api, body['job']['id']), 10, what='job performed')
    assert job['status'] == 'done' and job['result'] == {'value': 8}
    worker_pid = int(job['performed_by'].rsplit(':', 1)[1])
    assert worker_pid in api.workers()
    assert http('GET', api.url('/v1/items/%s' % item['id']))[1]['item']['value'] == 8
    # call: the Item goes over the bus as a versioned object, the answer comes back
    status, body, _ = http('POST', api.url('/v1/items/%s/actions' % item['id']),
                           {'action': 'digest'})
    assert status == 200, body
    canonical = json.dumps({'name': 'bus', 'value': 8}, sort_keys=True, separators=(',', ':'))
    assert body['result']['sha256'] == hashlib.sha256(canonical.encode()).hexdigest()
    assert body['result']['item_id'] == item['id'] and body['result']['version'] == '1.0'
    # notifications: create, then update and delete, recorded by the listener
    http('PATCH', api.url('/v1/items/%s' % item['id']), {'value': 1})
    assert http('DELETE', api.url('/v1/items/%s' % item['id']))[0] == 204

    def trail():
        events = http('GET', api.url('/v1/audit?item_id=%s' % item['id']))[1]['events']
        return events if len(events) >= 3 else None
    events = wait_for(trail, 10, what='three audit events')
    assert [e['event_type'] for e in events] == ['item.create.end', 'item.update.end',
                                                 'item.delete.end']
    assert events[0]['payload']['name'] == 'bus' and events[0]['payload']['value'] == 5
    assert events[0]['publisher_id'].startswith('apollo-api.')
    assert 'Traceback' not in api.output()


def test_bus_probe_proves_call_cast_and_notification(start, rabbitmq):
    api = start_bus(start, rabbitmq)
    status, body, _ = http('GET', api.url('/v1/bus/probe'))
    assert status == 200, body
    probe = body['probe']
    workers = api.workers()
    assert int(probe['call']['worker'].rsplit(':', 1)[1]) in workers
    assert int(probe['cast']['by'].rsplit(':', 1)[1]) in workers
    assert probe['notification']['by'].startswith('apollo-api.')
    events = http('GET', api.url('/v1/audit?item_id=%s' % probe['token']))[1]['events']
    assert sorted(e['event_type'] for e in events) == ['apollo.probe', 'engine.probe']


def test_bus_probe_names_what_did_not_arrive(start, rabbitmq):
    # rpc workers but no notification workers: the notification is never recorded
    api = start_bus(start, rabbitmq, notification_workers=0, rpc_response_timeout=2)
    status, body, _ = http('GET', api.url('/v1/bus/probe'))
    assert status == 503, body
    message = body['error']['message']
    assert 'no notification recorded' in message and 'cast' not in message


def test_without_transport_the_api_serves_and_rpc_routes_answer_503(start):
    api = start()  # no transport_url: wsgi workers only
    assert len(api.workers()) == 2
    item = new_item(api, 'nobus')
    status, body, _ = http('POST', api.url('/v1/items/%s/actions' % item['id']),
                           {'action': 'increment'})
    assert status == 503 and 'transport_url' in body['error']['message']
    assert http('GET', api.url('/v1/audit'))[1] == {'events': [], 'next_marker': None}
    assert http('GET', api.url('/v1/bus/probe'))[0] == 503
    assert 'rpc' not in api.output().split('Started', 1)[1].split('\n', 1)[0]


@pytest.mark.parametrize('url', ['rabbit://h:port/', 'notaurl', 'rabbit://', 'nosuchdriver://h/'])
def test_malformed_transport_url_exits_2_with_one_line(start, url):
    api = start(wait=False, transport_url=url)
    assert api.proc.wait(20) == 2
    lines = [line for line in api.output().splitlines() if 'ERROR' in line]
    assert len(lines) == 1 and 'transport_url' in lines[0], api.output()
    assert 'Traceback' not in api.output()


def test_unreachable_broker_is_retried_with_backoff_and_logged(start):
    closed = free_ports(1)[0]
    api = start(transport_url='rabbit://guest:guest@127.0.0.1:%d/' % closed,
                rpc_workers=1, notification_workers=0, expect_workers=3)
    wait_for(lambda: 'unreachable' in api.output() or 'retrying' in api.output(), 20,
             what='a log line about the unreachable broker')
    assert http('GET', api.url('/healthcheck'))[0] == 200  # HTTP is unaffected
    began = time.monotonic()
    assert api.stop() == 0
    assert time.monotonic() - began < 10


def test_sigterm_finishes_an_in_flight_call_then_exits_zero(start, rabbitmq):
    api = start_bus(start, rabbitmq, debug_slow_requests='true')
    item = new_item(api, 'slow')
    result = {}

    def slow_call():
        result['r'] = http('POST', api.url('/v1/items/%s/actions' % item['id']),
                           {'action': 'digest', 'delay': 3}, timeout=20)
    thread = threading.Thread(target=slow_call)
    thread.start()
    time.sleep(0.8)
    api.signal(signal.SIGTERM)
    wait_for(lambda: 'Stopping rpc worker' in api.output(), 5, what='the rpc worker stopping')
    # a message published while the call in flight finishes must stay on
    # the broker (phoenix.server.messaging._stop_server: disconnect)
    time.sleep(0.5)
    assert thread.is_alive()
    publish(rabbitmq, b'{"sent": "after SIGTERM"}')
    thread.join(20)
    assert result['r'][0] == 200, result
    assert api.proc.wait(20) == 0
    # no new message taken while draining: delivered to the stopping worker
    # at most, never dispatched nor acknowledged, so the broker requeues it
    # for the next worker once the connection closes
    wait_for(lambda: engine_queue_depth(rabbitmq) == 1, 10, what='the message back on the queue')
    engine_queue_depth(rabbitmq, purge=True)
    assert 'skipping it' not in api.output()


def test_idle_messaging_workers_stop_within_a_second(start, rabbitmq):
    """systemd's restart after a crash waits for every worker: the driver's
    consume loop used to keep an idle worker for over a second
    (phoenix.server.messaging._shorten_consume_wait)."""
    api = start_bus(start, rabbitmq)
    time.sleep(2)  # idle: the driver's consume wait has grown to its longest
    began = time.monotonic()
    assert api.stop() == 0
    assert time.monotonic() - began < 1.0, api.output()[-2000:]


def test_sighup_rebuilds_the_rpc_workers(start, rabbitmq):
    api = start_bus(start, rabbitmq)
    item = new_item(api, 'hup')
    before = api.workers()
    api.signal(signal.SIGHUP)
    wait_for(lambda: len(api.workers()) == 4 and not (api.workers() & before), 20,
             what='four new workers')
    wait_for(lambda: api.output().count('consuming:') >= 4, 20, what='new workers consuming')
    status, body, _ = http('POST', api.url('/v1/items/%s/actions' % item['id']),
                           {'action': 'digest'})
    assert status == 200 and int(body['result']['worker'].rsplit(':', 1)[1]) not in before


def test_rpc_worker_killed_mid_call_caller_gets_an_answer_and_worker_respawns(start, rabbitmq):
    api = start_bus(start, rabbitmq, debug_slow_requests='true', rpc_response_timeout=4)
    item = new_item(api, 'victim')
    rpc_pid = int(http('POST', api.url('/v1/items/%s/actions' % item['id']),
                       {'action': 'digest'})[1]['result']['worker'].rsplit(':', 1)[1])
    result = {}

    def slow_call():
        began = time.monotonic()
        result['r'] = http('POST', api.url('/v1/items/%s/actions' % item['id']),
                           {'action': 'digest', 'delay': 3}, timeout=30)
        result['took'] = time.monotonic() - began
    thread = threading.Thread(target=slow_call)
    thread.start()
    time.sleep(1.0)
    os.kill(rpc_pid, signal.SIGKILL)
    thread.join(30)
    status, body, _ = result['r']
    # never a hang: the result (redelivered to the new worker) or a timeout
    assert status in (200, 504), body
    assert result['took'] < 4 + 3 + 2
    wait_for(lambda: len(api.workers()) == 4 and rpc_pid not in api.workers(), 10,
             what='the rpc worker respawned')
    wait_for(lambda: http('POST', api.url('/v1/items/%s/actions' % item['id']),
                          {'action': 'digest'})[0] == 200, 20, interval=0.5,
             what='calls answered again')
    assert 'respawning' in api.output()


def test_malformed_messages_on_the_topic_are_logged_acked_and_skipped(start, rabbitmq):
    api = start_bus(start, rabbitmq)
    item = new_item(api, 'garbage')
    for body, ctype in ((b'\xff not json at all', 'application/octet-stream'),
                        (b'{"oslo.version": "2.0", "oslo.message": "{broken"}',
                         'application/json'),
                        (b'{"method": "no_such_method", "args": {}}', 'application/json'),
                        (b'{"method": "digest", "args": {"item": 42}}', 'application/json')):
        publish(rabbitmq, body, ctype)
    # the worker keeps serving, and the queue does not keep the bad messages
    time.sleep(1)
    status, body, _ = http('POST', api.url('/v1/items/%s/actions' % item['id']),
                           {'action': 'digest'})
    assert status == 200, body
    assert engine_queue_depth(rabbitmq) == 0
    assert len(api.workers()) == 4  # no worker died over it
    output = api.output()
    assert output.count('Failed to process message ... skipping it') >= 2  # undecodable
    assert 'does not support RPC method no_such_method' in output
    assert 'digest needs an Item object, got int' in output
