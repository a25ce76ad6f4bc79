"""The answer sets that every test run renders and checks end to end.

Together they cover both Python versions, irregular plurals, resource and field names that are
SQL reserved words, every field kind of the field-spec language, and every choice of
`observability` (none, otel, prometheus, both), with and without Docker.
"""

from typing import Any

ALL_FIELD_KINDS = (
    "handle:str(40)! bio:text? age:int>=0<=150 karma:bigint=0 score:float>=0? "
    "balance:decimal(12,2)>=0=0 active:bool=true birthday:date? last_seen:datetime? "
    "token:uuid=random settings:json? joined:datetime=now"
)

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "category-py312": {"python_version": "3.12", "resource": "category"},
    "person-otel": {"resource": "person", "observability": ["otel"]},
    "order-reserved-words-prometheus": {
        "resource": "order",
        "resource_fields": "user:str(100) group:int>=1 select:text? desc:bool=false",
        "observability": ["prometheus"],
        "use_docker": False,
    },
    "user-all-field-kinds-observability": {
        "python_version": "3.12",
        "resource": "user",
        "resource_fields": ALL_FIELD_KINDS,
        "observability": ["otel", "prometheus"],
    },
}


def answers(variant: str) -> dict[str, Any]:
    return {"project_name": f"Variant {variant}"} | VARIANTS[variant]
