"""Helpers for this repository's tests: ordinary modules, imported by the tests and conftest.py."""
