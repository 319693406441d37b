#!/usr/bin/env python3
"""RPC through phoenix's rpc workers against a bare oslo.messaging server,
same broker, same endpoint, same run.

    .venv/bin/python bench/bench_rpc.py [--calls 2000] [--casts 5000] [--rounds 3]

Both servers serve apollo's ``EngineManager`` (its ``digest`` method, the
Item sent as a versioned object) with one process each:

* phoenix: ``apollo-api`` with ``rpc_workers = 1`` (the launcher forks the
  worker; phoenix.server.messaging runs the RPC server in it);
* bare: a monkey-patched process that calls ``oslo_messaging.get_rpc_server``
  itself and ``start()``s it (what a service without phoenix would do).

The broker is a private RabbitMQ node (tests/process/rabbitmq_broker.py).
Figures: call round trip p50/p99 (sequential calls from one client, the two
servers interleaved call by call so that both meet the same machine load),
cast throughput (``--casts`` casts of ``digest``, then one call, which the
single worker answers after it has taken every cast before it: casts/s to
that answer; median of the rounds) and the server process's CPU time per
message (from /proc, steadier than wall-clock figures on a shared machine). Ratios are
bare/phoenix for latency and CPU, phoenix/bare for throughput, so >= 0.8
is the target for all (docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / 'tests' / 'process'))

BARE_TOPIC = 'bench-bare'
PHOENIX_TOPIC = 'apollo-engine'


#: The baseline server, run as ``python -c`` so that eventlet patches the
#: process on its first line, as phoenix's entry points do (this module
#: imports subprocess and threading before it could patch).
BARE_SERVER = """
import eventlet
eventlet.monkey_patch()
import os, signal, sys, warnings
warnings.filterwarnings('ignore')
import oslo_messaging
from oslo_config import cfg
import phoenix.conf
from apollo import objects
from apollo.server.engine import EngineManager
url, state, topic = sys.argv[1:4]
os.environ['PROJECT_NAME'] = 'apollo'
conf = cfg.CONF
phoenix.conf.configure(conf, project='apollo')
conf([], project='apollo')
conf.set_override('state_path', state)
objects.register_all()
transport = oslo_messaging.get_rpc_transport(conf, url=url)
server = oslo_messaging.get_rpc_server(
    transport, oslo_messaging.Target(topic=topic, server='bench'),
    [EngineManager(conf)], serializer=objects.ApolloObjectSerializer())
server.start()
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
print('ready', flush=True)
while True:
    eventlet.sleep(1)
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc; clock ticks)."""
    fields = Path('/proc/%d/stat' % pid).read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def call_latencies(clients: dict, item, calls: int) -> dict[str, list[float]]:
    """Round trips of sequential calls, the two servers interleaved call by
    call (order alternating), so both see the same machine at the same time:
    on a shared machine that matters more than anything else."""
    for client in clients.values():
        for _ in range(50):  # warm-up: connections, queues, code paths
            client.call({}, 'digest', item=item)
    latencies: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    for number in range(calls):
        for name in (names if number % 2 == 0 else names[::-1]):
            began = time.perf_counter()
            clients[name].call({}, 'digest', item=item)
            latencies[name].append(time.perf_counter() - began)
    return latencies


def cast_round(client, item, casts: int, pid: int) -> dict[str, float]:
    """Casts per second until the call behind them is answered, and the
    server's CPU time per message meanwhile."""
    client.call({}, 'digest', item=item)
    cpu = cpu_seconds(pid)
    began = time.perf_counter()
    for _ in range(casts):
        client.cast({}, 'digest', item=item)
    client.call({}, 'digest', item=item)
    elapsed = time.perf_counter() - began
    return {'casts_per_s': casts / elapsed,
            'cpu_us': (cpu_seconds(pid) - cpu) / (casts + 1) * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=int, default=2000)
    parser.add_argument('--casts', type=int, default=5000)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()

    import warnings
    warnings.filterwarnings('ignore')
    import eventlet
    eventlet.monkey_patch()
    import oslo_messaging
    from oslo_config import cfg
    from rabbitmq_broker import RabbitMQ

    from apollo import objects
    objects.register_all()

    work = Path(tempfile.mkdtemp(prefix='bench-rpc-'))
    broker = RabbitMQ(work / 'rabbitmq')
    procs: list[subprocess.Popen] = []
    try:
        print('starting RabbitMQ ...', file=sys.stderr)
        broker.start()
        config = work / 'apollo.conf'
        config.write_text(
            '[DEFAULT]\nbind_host = 127.0.0.1\nport = 0\nwsgi_workers = 1\n'
            'rpc_workers = 1\nnotification_workers = 0\nstate_path = %s\n'
            'api_paste_config = %s\ntransport_url = %s\nwsgi_access_log = false\n'
            % (work / 'state', ROOT / 'etc' / 'apollo' / 'api-paste.ini', broker.url))
        log = open(work / 'apollo-api.log', 'wb')
        procs.append(subprocess.Popen([str(BIN / 'apollo-api'), '--config-file', str(config)],
                                      stdout=log, stderr=subprocess.STDOUT))
        bare = subprocess.Popen([sys.executable, '-c', BARE_SERVER, broker.url,
                                 str(work / 'bare-state'), BARE_TOPIC], stdout=subprocess.PIPE,
                                stderr=open(work / 'bare.log', 'wb'))
        procs.append(bare)
        assert bare.stdout.readline().strip() == b'ready', 'bare server did not start'

        conf = cfg.CONF  # oslo.messaging registers its tracing options there
        conf([])
        oslo_messaging.set_transport_defaults('apollo')  # apollo's exchange, for both
        transport = oslo_messaging.get_rpc_transport(conf, url=broker.url)
        serializer = objects.ApolloObjectSerializer()
        clients = {
            'phoenix': oslo_messaging.get_rpc_client(
                transport, oslo_messaging.Target(topic=PHOENIX_TOPIC), serializer=serializer,
                timeout=30),
            'bare': oslo_messaging.get_rpc_client(
                transport, oslo_messaging.Target(topic=BARE_TOPIC), serializer=serializer,
                timeout=30)}
        item = objects.Item(id=str(uuid.uuid4()), name='bench', value={'n': list(range(20))},
                            expires_at=None, created_at=time.time(), updated_at=time.time())
        deadline = time.monotonic() + 60
        while True:  # apollo-api's rpc worker consuming
            try:
                answer = clients['phoenix'].prepare(timeout=2).call({}, 'digest', item=item)
                break
            except oslo_messaging.MessagingTimeout:
                if time.monotonic() > deadline:
                    raise
        pids = {'phoenix': int(answer['worker'].rsplit(':', 1)[1]), 'bare': bare.pid}
        print('calls: %d interleaved ...' % args.calls, file=sys.stderr)
        latencies = call_latencies(clients, item, args.calls)
        rounds: dict[str, list[dict[str, float]]] = {'phoenix': [], 'bare': []}
        for round_no in range(args.rounds):
            for name in ('bare', 'phoenix') if round_no % 2 else ('phoenix', 'bare'):
                figures = cast_round(clients[name], item, args.casts, pids[name])
                rounds[name].append(figures)
                print('round %d %-7s casts %.0f/s  server CPU %.0f us/message' % (
                    round_no + 1, name, figures['casts_per_s'], figures['cpu_us']),
                    file=sys.stderr)
        table = {name: {'p50_ms': percentile(latencies[name], 0.5) * 1000,
                        'p99_ms': percentile(latencies[name], 0.99) * 1000,
                        'casts_per_s': statistics.median(r['casts_per_s'] for r in rounds[name]),
                        'cpu_us': statistics.median(r['cpu_us'] for r in rounds[name])}
                 for name in rounds}
        p, b = table['phoenix'], table['bare']
        print('calls: %d each, interleaved; casts: %d per round, %d rounds (median)'
              % (args.calls, args.casts, args.rounds))
        print('%-8s %10s %10s %12s %14s' % ('', 'p50 ms', 'p99 ms', 'casts/s', 'CPU us/msg'))
        for name in ('phoenix', 'bare'):
            row = table[name]
            print('%-8s %10.2f %10.2f %12.0f %14.0f' % (
                name, row['p50_ms'], row['p99_ms'], row['casts_per_s'], row['cpu_us']))
        print('ratio    %10.2f %10.2f %12.2f %14.2f   (bare/phoenix for latency and CPU, '
              'phoenix/bare for casts; target >= 0.8)' % (
                  b['p50_ms'] / p['p50_ms'], b['p99_ms'] / p['p99_ms'],
                  p['casts_per_s'] / b['casts_per_s'], b['cpu_us'] / p['cpu_us']))
        transport.cleanup()
        return 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        broker.close()


if __name__ == '__main__':
    sys.exit(main())
