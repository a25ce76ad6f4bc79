"""List query parameters and the page every list endpoint returns.

Two ways to page through a list:

- cursor mode (the default): follow `next_cursor`; every page costs the same at any depth,
  and no total is counted;
- offset mode (`offset=N`): jump to a position; the page carries `total`, which costs a COUNT.

Both together skip `offset` items after the cursor's position (`total` still counts the whole
list).

A cursor (`app.core.cursor`) is an opaque token holding the sort order and the last item's sort
values, so the next page starts right after it (keyset pagination).
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic.json_schema import SkipJsonSchema

from app.core.cursor import decode_cursor
from app.core.errors import InvalidCursorError

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_OFFSET = 1_000_000  # deeper pages cost a scan of every skipped row: use cursor mode


class ListParams(BaseModel):
    """Paging and sorting; each resource subclasses it to add its filters and sortable fields."""

    model_config = ConfigDict(extra="forbid")

    # The one list of sortable fields: name -> Python type. `sort` accepts each name, or "-name"
    # for descending order (a Literal made from this list when a subclass is defined, so that the
    # OpenAPI schema lists the choices), and the tests read it too.
    sort_fields: ClassVar[dict[str, type]] = {"id": int}
    # The sortable fields whose Python attribute is not their name (a field called `validate` is
    # the attribute `validate_`): name -> attribute.
    sort_attributes: ClassVar[dict[str, str]] = {}

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    sort: str = Field(default="id", description="Sort field; prefix with '-' for descending order.")
    # SkipJsonSchema[None]: an absent parameter is None, but clients never send null.
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Offset mode: skip this many items, counted from the cursor's position when a "
            "`cursor` is given too; the page then carries `total`."
        ),
    )
    cursor: Annotated[str, Field(min_length=1, max_length=1000)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Cursor mode: the `next_cursor` of a previous page, for the same `sort`; the page "
            "starts right after the item it names. Other strings get 400."
        ),
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Restrict `sort` to the subclass's `sort_fields`, in both orders."""
        super().__pydantic_init_subclass__(**kwargs)
        orders = tuple(order for name in cls.sort_fields for order in (name, f"-{name}"))
        sort = cls.__pydantic_fields__["sort"]
        cls.__pydantic_fields__["sort"] = FieldInfo.merge_field_infos(
            sort, annotation=Literal[orders]
        )
        cls.model_rebuild(force=True)

    @property
    def sort_field(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def sort_attribute(self) -> str:
        """The attribute of the model and of its records that `sort` orders by."""
        return self.sort_attributes.get(self.sort_field, self.sort_field)

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def after(self) -> tuple[Any, ...] | None:
        """The previous page's last sort values: (value, id), or (id,) when sorting by id.

        InvalidCursorError (400) if the cursor is not one this API issued for this sort order.
        """
        if self.cursor is None:
            return None
        try:
            return decode_cursor(self.cursor, self.sort, self.sort_fields[self.sort_field])
        except ValueError as error:
            raise InvalidCursorError(f"The cursor is not valid here: {error}.") from None


class Page[ItemT](BaseModel):
    """A page of a list, as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    items: list[ItemT]
    total: int | None = Field(
        description="Number of matching items in the whole list; only in offset mode."
    )
    limit: int
    offset: int | None
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class Listing[ItemT]:
    """A page as repositories and services return it; FastAPI validates it into the route's
    `Page[...]` response model (the generic repository cannot name that concrete class)."""

    __slots__ = ("items", "limit", "next_cursor", "offset", "total")

    def __init__(
        self,
        items: list[ItemT],
        *,
        total: int | None,
        limit: int,
        offset: int | None,
        next_cursor: str | None,
    ) -> None:
        self.items = items
        self.total = total
        self.limit = limit
        self.offset = offset
        self.next_cursor = next_cursor
