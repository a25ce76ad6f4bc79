"""Benchmark harness: the rendered default project against a raw-driver reference app (R0).

Run `uv run python -m bench --help` from the repository root; docs/performance.md explains what
is measured and shows the figures of a full run.
"""
