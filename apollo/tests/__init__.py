"""Unit tests of apollo and the phoenix framework it runs on."""
