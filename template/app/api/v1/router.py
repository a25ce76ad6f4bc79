"""Version 1 of the API: every module in `app.api.v1.routes` contributes its `router`.

Adding a resource therefore means adding a module, without editing this file.
"""

from importlib import import_module
from pkgutil import iter_modules

from fastapi import APIRouter

from app.api.v1 import routes

api_router = APIRouter(prefix="/api/v1")

for _module in sorted(iter_modules(routes.__path__), key=lambda module: module.name):
    api_router.include_router(import_module(f"{routes.__name__}.{_module.name}").router)
