"""The API surface is a deliberate choice: each operation's parameters, bodies and status codes
are compared with the contracts in tests/api/contracts/ (one file per resource, plus health).

After an intended change, rewrite them with
`UPDATE_CONTRACTS=1 uv run pytest tests/api/shared/test_contract.py` and review the diff.
"""

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

CONTRACTS = Path(__file__).parent.parent / "contracts"
# Modules whose paths below a record are their own, not a resource's nested list: an
# organization's members (with tenancy).
WHOLE = {"organizations"}


def contract_name(path: str) -> str:
    """health.json for /health/..., <plural>.json for /api/v1/<plural>/... and for the lists of
    <plural> under the records they refer to, /api/v1/<other plural>/{id}/<plural>[/<field>]
    (routes of <plural>'s module), except below the modules in WHOLE."""
    parts = path.strip("/").split("/")
    if parts[0] != "api":
        return parts[0]
    parts = parts[2:]
    nested = len(parts) > 2 and parts[1].startswith("{") and parts[0] not in WHOLE
    return (parts[2] if nested else parts[0]).replace("-", "_")


def type_of(schema: dict[str, Any], spec: dict[str, Any]) -> str:
    """A short description of a JSON schema: 'string(date)', 'integer|null', 'Problem', ...;
    an enum names its values: 'PostStatus(draft,published)'."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        values = spec["components"]["schemas"][name].get("enum")
        return f"{name}({','.join(values)})" if values else name
    if "anyOf" in schema:
        return "|".join(type_of(option, spec) for option in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array[{type_of(schema['items'], spec)}]"
    kind = schema.get("type", "any")
    return f"{kind}({schema['format']})" if "format" in schema else str(kind)


def fields_of(schema_name: str, spec: dict[str, Any]) -> dict[str, str]:
    schema = spec["components"]["schemas"][schema_name]
    required = set(schema.get("required", []))
    return {
        name + ("" if name in required else "?"): type_of(field, spec)
        for name, field in schema.get("properties", {}).items()
    }


def operation_contract(operation: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    success: dict[str, Any] = next(
        (response for status, response in operation["responses"].items() if status < "300"), {}
    )
    returned = success.get("content", {}).get("application/json", {}).get("schema", {})
    return {
        "parameters": sorted(
            f"{parameter['in']} {parameter['name']}: {type_of(parameter['schema'], spec)}"
            for parameter in operation.get("parameters", [])
        ),
        "body": fields_of(type_of(body["schema"], spec), spec) if body else None,
        "statuses": sorted(operation["responses"]),
        "returns": type_of(returned, spec) if returned else None,
    }


def contracts(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every operation's contract, grouped by contract file; returned models are spelled out."""
    grouped: dict[str, dict[str, Any]] = {}
    for path, operations in spec["paths"].items():
        group = grouped.setdefault(contract_name(path), {"operations": {}, "models": {}})
        for method, operation in operations.items():
            described = operation_contract(operation, spec)
            group["operations"][f"{method.upper()} {path}"] = described
            for model in filter(None, [described["returns"]]):
                group["models"][model] = fields_of(model, spec)
    return grouped


def test_the_api_matches_its_contracts(app: FastAPI) -> None:
    actual = contracts(app.openapi())
    if os.environ.get("UPDATE_CONTRACTS"):
        CONTRACTS.mkdir(exist_ok=True)
        for name, contract in actual.items():
            text = json.dumps(contract, indent=2, sort_keys=True) + "\n"
            (CONTRACTS / f"{name}.json").write_text(text)
    recorded = {path.stem: json.loads(path.read_text()) for path in CONTRACTS.glob("*.json")}
    for name in sorted(set(actual) | set(recorded)):
        assert actual.get(name) == recorded.get(name), (
            f"The API of {name} differs from tests/api/contracts/{name}.json; if intended, "
            "run UPDATE_CONTRACTS=1 uv run pytest tests/api/shared/test_contract.py "
            "and review the diff."
        )
