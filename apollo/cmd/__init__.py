"""Entry points of apollo (console scripts in setup.cfg)."""
