"""phoenix.server.launcher with a fake service, in a subprocess (it forks and
installs signal handlers, which a test process should not do)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent('''
    import json, sys
    from phoenix.common import patching
    patching.patch_for([])
    from phoenix.server import launcher

    class Service:
        kind = 'test'
        workers = 1
        addresses = []
        def describe(self):
            return 'test service'
        def prepare(self):
            pass
        def run_worker(self, should_stop):
            if sys.argv[1] == 'crash':
                return 3
            while not should_stop():
                import eventlet
                eventlet.sleep(0.05)
            return 0

    forks = []
    runner = launcher.ProcessLauncher([Service()], graceful_shutdown_timeout=lambda: 5,
                                      notify=lambda state: print(state.split()[0], flush=True))
    original = runner._fork
    def counting_fork(service, slot):
        forks.append(slot)
        original(service, slot)
    runner._fork = counting_fork
    runner.launch()
    status = runner.wait()
    print(json.dumps({'forks': len(forks)}), flush=True)
    sys.exit(status)
''')


def run_for(mode: str, seconds: float) -> tuple[int, list[str]]:
    """Run the launcher ``seconds`` past READY=1, then SIGTERM it."""
    proc = subprocess.Popen([sys.executable, '-c', SCRIPT, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    first = proc.stdout.readline().strip()  # handlers are installed before READY
    time.sleep(seconds)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, [first] + out.splitlines()


def test_a_crash_looping_worker_is_respawned_with_backoff():
    status, lines = run_for('crash', 3.5)
    assert status == 0, lines
    forks = json.loads(lines[-1])['forks']
    # Immediate respawn after the first crash, then one attempt per second
    # (about 5 in 3.5 s; the margins absorb a loaded 2-core machine, where the
    # first forks can lag); without the backoff this would be hundreds.
    assert 3 <= forks <= 8, forks


def test_ready_then_stopping_and_a_clean_exit():
    status, lines = run_for('serve', 1.0)
    assert status == 0
    assert lines[0] == 'READY=1'
    assert 'STOPPING=1' in lines
    assert json.loads(lines[-1]) == {'forks': 1}
