"""Messaging pieces without a broker: configuration checks, worker counts,
versioned objects, the outbox's exactly-once step, the audit endpoint and
the RPC routes with no transport. What needs a broker is proven on a real
RabbitMQ in tests/process/test_messaging.py and test_broker_faults.py."""
from __future__ import annotations

import json
import threading
import uuid

import pytest
import webob

from apollo import exception, objects
from apollo.common import db
from apollo.tests.conftest import PASTE_INI
from apollo.tests.test_config import parse
from phoenix import wsgi
from phoenix.server import eventlet as eventlet_server
from phoenix.server import messaging


@pytest.mark.parametrize('url, message', [
    ('rabbit://h:port/', 'malformed'),
    ('notaurl', 'malformed'),
    ('rabbit://', 'names no host'),
    ('nosuchdriver://h/', "driver 'nosuchdriver'"),
    ('rabbit://h:99999/', 'outside 1-65535'),
])
def test_bad_transport_urls_are_one_line_errors_naming_the_option(tmp_path, url, message):
    conf = parse(tmp_path, '[DEFAULT]\ntransport_url = %s\n' % url)
    with pytest.raises(messaging.MessagingConfigError) as info:
        messaging.check_transport_url(conf)
    text = str(info.value)
    assert message in text and 'transport_url' in text and '\n' not in text
    assert str(tmp_path / 'apollo.conf') in text


def test_missing_transport_url_is_named(tmp_path):
    conf = parse(tmp_path, '[DEFAULT]\n')
    assert conf.transport_url is None  # not oslo.messaging's "rabbit://" (localhost)
    with pytest.raises(messaging.MessagingConfigError, match=r'transport_url is not set'):
        messaging.check_transport_url(conf)


def test_messaging_workers_default_to_one_with_a_transport_and_are_capped(tmp_path):
    conf = parse(tmp_path, '[DEFAULT]\ntransport_url = rabbit://u:p@h:5672/\n')
    assert eventlet_server.get_workers(conf, 'rpc') == 1
    assert eventlet_server.get_workers(conf, 'notification') == 1
    conf = parse(tmp_path, '[DEFAULT]\ntransport_url = rabbit://u:p@h:5672/\n'
                           'rpc_workers = 9\nmax_workers = 4\nnotification_workers = 0\n')
    assert eventlet_server.get_workers(conf, 'rpc') == 4
    assert eventlet_server.get_workers(conf, 'notification') == 0


def test_item_crosses_the_serializer_as_a_versioned_object():
    objects.register_all()
    assert objects.Item in objects.register_all()
    item = objects.Item(id=str(uuid.uuid4()), name='x', value={'a': [1, None]},
                        expires_at=None, created_at=1.0, updated_at=2.0)
    serializer = objects.ApolloObjectSerializer()
    primitive = serializer.serialize_entity({}, item)
    wire = json.loads(json.dumps(primitive))
    assert wire['apollo_object.name'] == 'Item' and wire['apollo_object.version'] == '1.0'
    back = serializer.deserialize_entity({}, wire)
    assert isinstance(back, objects.Item) and back.to_dict() == item.to_dict()
    with pytest.raises(ValueError):
        item.value = float('nan')


def test_a_job_is_performed_once_however_often_it_is_delivered(conf):
    storage = db.storage_from_conf(conf)
    storage.sync()
    item = storage.create('counter', 0, None)
    job = storage.create_job(item['id'], 'increment', {'by': 5})
    results = []

    def deliver():
        results.append(db.storage_from_conf(conf).perform_job(job['id'], 'w')[1])
    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert storage.get(item['id'])['value'] == 5
    assert storage.get_job(job['id'])['status'] == 'done'
    assert storage.fail_job(job['id'], 'late')['status'] == 'done'  # done stays done
    other = storage.create_job(item['id'], 'increment', {'by': 1})
    assert storage.fail_job(other['id'], 'not sent')['status'] == 'failed'
    assert storage.perform_job(other['id'], 'w') == (storage.get_job(other['id']), False)
    assert storage.get(item['id'])['value'] == 5


def call(app, path, method='GET', body=None):
    request = webob.Request.blank(path, method=method)
    if body is not None:
        request.body = json.dumps(body).encode()
    return request.get_response(app)


def test_rpc_routes_answer_503_without_a_transport(conf):
    app = wsgi.load_app(PASTE_INI, 'main')
    item = call(app, '/v1/items', 'POST', {'name': 'n'}).json['item']
    response = call(app, '/v1/items/%s/actions' % item['id'], 'POST', {'action': 'digest'})
    assert response.status_int == 503
    assert 'transport_url' in response.json['error']['message']
    assert call(app, '/v1/items/%s/actions' % item['id'], 'POST',
                {'action': 'explode'}).status_int == 400
    assert call(app, '/v1/items/%s/actions' % item['id'], 'POST',
                {'action': 'increment', 'by': 'x'}).status_int == 400
    assert call(app, '/v1/jobs/%s' % uuid.uuid4()).status_int == 404
    assert call(app, '/v1/audit?limit=0').status_int == 400


def test_audit_endpoint_records_each_notification_once(conf):
    from apollo.server import audit
    db.sync_schema(conf)
    endpoint = audit.endpoints()[0]
    objects.register_all()
    item = objects.Item(id=str(uuid.uuid4()), name='x', value=1, expires_at=None,
                        created_at=1.0, updated_at=1.0)
    meta = {'message_id': 'm-1', 'timestamp': '2026-01-01 00:00:00'}
    for _ in range(2):  # a redelivery
        endpoint.info({}, 'apollo-api.h', 'item.create.end', item, meta)
    events = db.storage_from_conf(conf).list_events(10)
    assert len(events) == 1 and events[0]['item_id'] == item.id
    assert events[0]['payload']['value'] == 1
    assert endpoint.filter_rule.match({}, 'apollo-api.h', 'item.create.end', {}, {})
    assert not endpoint.filter_rule.match({}, 'x', 'compute.instance.create', {}, {})


def test_storage_errors_of_jobs_map_to_http_errors():
    assert exception.JobNotFound(job_id='x').code == 404
    assert exception.MessagingUnavailable(reason='r').code == 503
    assert exception.EngineTimeout(timeout=3).code == 504


@pytest.mark.parametrize('section, warned', [
    ('', True),                                                    # oslo.messaging's default
    ('[oslo_messaging_rabbit]\namqp_durable_queues = true\n', False),  # what apollo ships
    ('[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\n', False),
])
def test_rpc_workers_warn_when_casts_would_not_survive_a_broker_restart(tmp_path, section, warned):
    import oslo_messaging
    conf = parse(tmp_path, '[DEFAULT]\ntransport_url = rabbit://u:p@127.0.0.1:1/\n' + section)
    assert messaging.transient_queues(conf) is None  # the rabbit group is not loaded yet
    transport = oslo_messaging.get_rpc_transport(conf, url=conf.transport_url)  # no connection yet
    try:
        warning = messaging.transient_queues(conf)
    finally:
        transport.cleanup()
    assert (warning is not None) == warned, warning
    if warned:
        assert 'amqp_durable_queues is false' in warning and 'broker' in warning
