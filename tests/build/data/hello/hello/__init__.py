"""A tiny service for the build tests."""
