"""Options, worker counts, paste lookup and the start-up environment."""
from __future__ import annotations

import os
import textwrap

import pytest
from oslo_config import cfg

import phoenix.conf
from apollo.tests.conftest import TOPDIR
from phoenix import wsgi
from phoenix.common import utils
from phoenix.server import eventlet as eventlet_server


def parse(tmp_path, text: str) -> cfg.ConfigOpts:
    path = tmp_path / 'apollo.conf'
    path.write_text(textwrap.dedent(text))
    conf = cfg.ConfigOpts()
    phoenix.conf.configure(conf, project='apollo')
    conf(['--config-file', str(path)], project='apollo', default_config_files=[])
    return conf


def test_option_names_of_design_section_8_exist(tmp_path):
    conf = parse(tmp_path, '[DEFAULT]\n')
    for name in ('bind_host', 'port', 'max_workers', 'wsgi_workers', 'periodic_workers',
                 'rpc_workers', 'notification_workers', 'graceful_shutdown_timeout',
                 'api_paste_config', 'state_path'):
        assert name in conf, name
    assert conf.state_path == '/var/lib/apollo'
    assert conf.database_file == '/var/lib/apollo/apollo.sqlite'


def test_port_is_a_list_of_ports(tmp_path):
    conf = parse(tmp_path, '[DEFAULT]\nport = 8780, 8781\n')
    assert conf.port == [8780, 8781]


def test_invalid_port_is_rejected(tmp_path):
    conf = parse(tmp_path, '[DEFAULT]\nport = 8780,http\n')
    with pytest.raises(cfg.ConfigFileValueError):
        _ = conf.port  # reading the option is what raises


def test_cli_options_of_the_design_notes(tmp_path):
    conf = cfg.ConfigOpts()
    phoenix.conf.configure(conf, project='apollo')
    conf(['--standard-threads', '--pydev-debug-host', 'dbg', '--pydev-debug-port', '5678'],
         project='apollo', default_config_files=[])
    assert conf.standard_threads is True
    assert (conf.pydev_debug_host, conf.pydev_debug_port) == ('dbg', 5678)


def test_workers_default_to_cpu_count_and_are_capped(tmp_path):
    conf = parse(tmp_path, '[DEFAULT]\n')
    assert eventlet_server.get_workers(conf, 'wsgi') == min(os.cpu_count(), 64)
    assert eventlet_server.get_workers(conf, 'rpc') == 0
    capped = parse(tmp_path, '[DEFAULT]\nwsgi_workers = 10\nperiodic_workers = 5\nmax_workers = 3\n')
    assert eventlet_server.get_workers(capped, 'wsgi') == 3
    assert eventlet_server.get_workers(capped, 'periodic') == 3


def test_rpc_workers_without_transport_is_a_clear_error(tmp_path):
    conf = parse(tmp_path, '[DEFAULT]\nrpc_workers = 2\n')
    with pytest.raises(eventlet_server.WorkerConfigError, match='transport_url'):
        eventlet_server.get_workers(conf, 'rpc')


def test_paste_config_is_found_next_to_the_config_file(tmp_path):
    (tmp_path / 'api-paste.ini').write_text('[app:main]\n')
    conf = parse(tmp_path, '[DEFAULT]\napi_paste_config = api-paste.ini\n')
    assert wsgi.find_paste_config(conf) == str(tmp_path / 'api-paste.ini')


def test_missing_paste_config_names_the_option(tmp_path):
    conf = parse(tmp_path, '[DEFAULT]\napi_paste_config = nowhere.ini\n')
    os.environ.pop('PROJECT_CONF_DIR', None)
    with pytest.raises(wsgi.PasteConfigError, match='api_paste_config'):
        wsgi.find_paste_config(conf)


def test_broken_pipeline_is_a_paste_config_error(tmp_path):
    ini = tmp_path / 'api-paste.ini'
    ini.write_text('[pipeline:main]\npipeline = nosuchfilter apiv1\n'
                   '[app:apiv1]\npaste.app_factory = apollo.app.router:APIRouter.factory\n')
    with pytest.raises(wsgi.PasteConfigError, match='nosuchfilter'):
        wsgi.load_app(str(ini), 'main')


def test_init_env_exports_the_project_paths():
    env = utils.init_env('apollo')
    assert env['PROJECT_NAME'] == os.environ['PROJECT_NAME'] == 'apollo'
    assert env['PROJECT_DIR'] == os.path.join(TOPDIR, 'apollo')
    assert env['POSSIBLE_TOPDIR'] == TOPDIR
    assert env['PROJECT_APP_DIR'] == os.path.join(TOPDIR, 'apollo', 'app')
    assert env['PROJECT_CONF_DIR'] == os.path.join(TOPDIR, 'etc', 'apollo')
    # A checkout has a development config; an installed tree would not.
    assert utils.dev_config_files() == [os.path.join(TOPDIR, 'etc', 'apollo', 'apollo.conf')]


def test_shipped_config_matches_the_packaging_contract(tmp_path):
    conf = cfg.ConfigOpts()
    phoenix.conf.configure(conf, project='apollo')
    shipped = os.path.join(TOPDIR, 'etc', 'apollo', 'apollo.conf')
    conf(['--config-file', shipped], project='apollo', default_config_files=[])
    assert conf.bind_host == '0.0.0.0'
    assert conf.port == [8780, 8781]
    assert conf.state_path == '/var/lib/apollo'
    assert conf.api_paste_config == 'api-paste.ini'
    assert conf.graceful_shutdown_timeout == 30
    assert wsgi.find_paste_config(conf) == os.path.join(TOPDIR, 'etc', 'apollo', 'api-paste.ini')


def test_sample_config_is_current():
    """etc/apollo/apollo.conf.sample is what the generator writes today."""
    from oslo_config import generator
    sample = os.path.join(TOPDIR, 'etc', 'apollo', 'apollo.conf.sample')
    import io
    out = io.StringIO()
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(['--namespace', 'apollo'])
    generator.generate(conf, output_file=out)
    with open(sample) as handle:
        assert handle.read() == out.getvalue(), \
            'regenerate: oslo-config-generator --namespace apollo --output-file %s' % sample
