"""Fixtures of the unit tests: the global CONF, parsed with no config file and
pointed at a temporary state directory, reset after each test."""
from __future__ import annotations

import os

import pytest
from oslo_config import cfg

import phoenix.conf
from phoenix.common import patching

patching.quiet_eventlet_warnings()

TOPDIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASTE_INI = os.path.join(TOPDIR, 'etc', 'apollo', 'api-paste.ini')


@pytest.fixture
def conf(tmp_path):
    os.environ['PROJECT_NAME'] = 'apollo'
    conf = cfg.CONF
    conf.reset()
    phoenix.conf.configure(conf, project='apollo')
    conf([], project='apollo', default_config_files=[])
    conf.set_override('state_path', str(tmp_path / 'state'))
    conf.set_override('api_paste_config', PASTE_INI)
    yield conf
    conf.clear_override('state_path')
    conf.clear_override('api_paste_config')
    conf.reset()


def pytest_configure(config):
    # eventlet warns on import that it is deprecated; the services filter it
    # (phoenix.common.patching) and so do the tests.
    config.addinivalue_line('filterwarnings', r'ignore:\s*Eventlet is deprecated')
    config.addinivalue_line('filterwarnings', "ignore:'cgi' is deprecated")
