"""Apollo's own options, registered by ``phoenix.conf.configure()``.

phoenix finds this module through PROJECT_NAME and calls ``register_opts``.
"""
from __future__ import annotations

from oslo_config import cfg

apollo_opts = [
    cfg.StrOpt('public_endpoint',
               help='Base URL clients reach the API at, used in the links of '
                    'GET /; by default the URL of the request.'),
    cfg.StrOpt('database_file', default='$state_path/apollo.sqlite',
               help='SQLite database of items.'),
    cfg.StrOpt('snapshot_file', default='$state_path/snapshot.json',
               help='JSON snapshot of all items that apollo-periodic writes.'),
    cfg.IntOpt('periodic_interval', default=60, min=1,
               help='Seconds between two runs of the periodic tasks '
                    '(expire items, write the snapshot).'),
    cfg.IntOpt('max_list_limit', default=1000, min=1,
               help='Most items one GET /v1/items returns.'),
    cfg.IntOpt('job_resend_after', default=30, min=1,
               help='Seconds after which apollo-periodic casts a job again '
                    'that no rpc worker has performed yet (a worker killed '
                    'mid-job, a message lost with a broker); the job runs '
                    'once however often it is cast.'),
    cfg.BoolOpt('debug_slow_requests', default=False,
                help='Testing aid: honour a "sleep=<seconds>" query parameter '
                     'by delaying the request. Never enable in production.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for opt in apollo_opts:
        try:
            conf.register_opt(opt)
        except cfg.DuplicateOptError:
            pass
    conf.set_default('state_path', '/var/lib/apollo')
    # apollo's own AMQP exchange, not oslo.messaging's shared "openstack".
    conf.set_default('control_exchange', 'apollo')
