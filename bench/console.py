"""Progress messages, on standard error so that standard output carries only the report."""

import sys


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
