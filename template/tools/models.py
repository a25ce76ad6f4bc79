"""The tables the models describe, read by the resource commands from the model modules as they
are on disk at the moment of the call."""

import importlib
import sys

from sqlalchemy import MetaData


def current_metadata() -> MetaData:
    """Every table of app/models/, from a fresh import of the `app` package: a command that
    re-renders a model (tools.change_resource) reads the table before and after, and Python
    would otherwise keep serving the modules it imported first. The old modules stay alive for
    whoever holds their tables."""
    for name in [name for name in sys.modules if name == "app" or name.startswith("app.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    importlib.import_module("app.models")  # registers every table on the declarative base
    base = importlib.import_module("app.db.base")
    metadata: MetaData = base.Base.metadata
    return metadata
