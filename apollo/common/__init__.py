"""Helpers shared by apollo\x27s services: storage, time formats."""
