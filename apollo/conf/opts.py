"""Option listing for ``oslo-config-generator --namespace apollo``."""
from __future__ import annotations

import copy

from oslo_config import cfg

from apollo import conf as apollo_conf
from phoenix.conf import opts as phoenix_opts


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    framework = [copy.copy(opt) for opt in phoenix_opts.cli_opts + phoenix_opts.server_opts]
    framework += phoenix_opts.sample_messaging_opts()
    for opt in framework:
        if opt.name == 'state_path':
            opt.default = '/var/lib/apollo'
            opt.sample_default = None
    return [(None, framework + apollo_conf.apollo_opts)]
