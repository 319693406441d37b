"""The corpus tier (marker ``corpus``, given by the folder: conftest.py at the root).

Real OpenStack sdists packaged end to end; the test modules import
``corpus.py`` from this folder.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
