"""Helpers shared by every phoenix service (environment, eventlet patching)."""
