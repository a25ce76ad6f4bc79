"""How the tests build valid bodies for each resource; one module per resource.

The generic API tests (tests/api/shared/test_resources.py) run against every `ResourceFactory` found
here, so a new resource is covered as soon as its factory module exists.
"""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import import_module
from itertools import count
from pkgutil import iter_modules
from typing import Any

from httpx import AsyncClient

Body = dict[str, Any]

# Records created only because another record refers to them take numbers from here, so that
# building several bodies in one test never repeats a unique value.
referenced = count(1000)
# The resources whose records are being built, innermost last: a record's optional references and
# links to one of them are left out (records that refer to each other would build forever).
BUILDING: ContextVar[frozenset[str]] = ContextVar("building", default=frozenset())


def being_built(resource: str) -> bool:
    """Whether a body of `resource` is being built (its factory's `build` runs)."""
    return resource in BUILDING.get()


@contextmanager
def under_construction(resource: str) -> Iterator[None]:
    """Within the block, a body of `resource` is being built."""
    token = BUILDING.set(BUILDING.get() | {resource})
    try:
        yield
    finally:
        BUILDING.reset(token)


@dataclass(frozen=True)
class ResourceFactory:
    name: str
    path: str
    build: Callable[[AsyncClient, int], Awaitable[Body]]
    """The i-th valid create body; distinct for each i (creates the resources it refers to)."""
    sort_fields: tuple[str, ...]
    owned: bool = False
    """Records belong to their creator: other users get 404 (tests/auth/test_ownership.py)."""
    scoped: bool = False
    """Records belong to an organization: other organizations get 404 (tests/tenancy/)."""

    @property
    def private(self) -> bool:
        """Whether its records are someone's: their creator's, or their organization's."""
        return self.owned or self.scoped

    @property
    def subject(self) -> str:
        """What its permissions name: the plural (`tasks` in `tasks:read`)."""
        return self.path.rsplit("/", 1)[-1].replace("-", "_")

    async def create(self, client: AsyncClient, i: int = 0) -> Body:
        response = await client.post(self.path, json=await self.build(client, i))
        assert response.status_code == 201, response.text
        created: Body = response.json()
        return created


def all_factories() -> list[ResourceFactory]:
    modules = [import_module(f"{__name__}.{module.name}") for module in iter_modules(__path__)]
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, ResourceFactory)
    ]
