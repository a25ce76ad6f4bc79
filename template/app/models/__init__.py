"""ORM models, one module per table.

Importing this package imports every module in it, so `Base.metadata` knows all tables
(Alembic relies on this, and so do foreign keys between resources).
"""

from importlib import import_module
from pkgutil import iter_modules

for _module in iter_modules(__path__):
    import_module(f"{__name__}.{_module.name}")
