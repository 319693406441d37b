"""The bundled venv's shebangs made exact, as brp-mangle-shebangs does (templates/venv_layer.py).

Unit test of the helper the spec runs (the build tier checks the result in
real packages: 0 lint errors on the corpus, byte-identical rebuilds).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from pkgtools import REPO

HELPER = REPO / "tools" / "phoenix-rpm" / "phoenix_rpm" / "templates" / "venv_layer.py"


def _helper():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("venv_layer", HELPER)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_interpreters_are_rewritten_to_the_venv_or_made_absolute(tmp_path: Path) -> None:
    venv = tmp_path / "root" / "usr" / "lib" / "demo"
    site = venv / "lib" / "python3.11" / "site-packages" / "dep"
    site.mkdir(parents=True)
    cases = {
        "env_python.py": ("#!/usr/bin/env python\nprint(1)\n", "#!/usr/lib/demo/bin/python\nprint(1)\n"),
        "python3_u.py": ("#!/usr/bin/python3 -u\nx = 1\n", "#!/usr/lib/demo/bin/python -u\nx = 1\n"),
        "bare.py": ("#!python3\n", "#!/usr/lib/demo/bin/python\n"),
        "env_bash.sh": ("#!/usr/bin/env bash\necho\n", "#!/usr/bin/bash\necho\n"),
        "abs_sh.sh": ("#!/bin/sh\necho\n", "#!/bin/sh\necho\n"),
        "plain.py": ("import os\n", "import os\n"),
    }
    for name, (text, _) in cases.items():
        (site / name).write_text(text)
        os.chmod(site / name, 0o755)
    changed = _helper().mangle_shebangs(str(venv), "/usr/lib/demo")
    for name, (_, want) in cases.items():
        assert (site / name).read_text() == want, name
    assert {Path(p).name for p in changed} == {"env_python.py", "python3_u.py", "bare.py", "env_bash.sh"}
    # a second pass changes nothing: the rewrite is stable (reproducible rebuilds)
    assert _helper().mangle_shebangs(str(venv), "/usr/lib/demo") == set()
