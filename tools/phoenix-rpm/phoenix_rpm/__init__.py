"""The packaging toolkit: setup.cfg -> systemd units + .spec -> RPM -> verified.

Stages (each usable alone, see ``tools/build-rpm --help``):
generate (model.py, plan.py, units.py, spec.py), build, lint, verify.
"""
