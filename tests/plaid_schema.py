"""Validate response bodies against Plaid's `/transactions/sync` schemas (../shared/specs).

The spec file holds Plaid's OpenAPI component schemas for the response, its transactions and
removed transactions. Two things make them plain JSON Schema here: OpenAPI's `nullable: true`
becomes a `null` alternative, and the components the file refers to but does not hold get
stand-ins below (accounts and their balances checked field by field, the rest as objects).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

SPEC = Path(__file__).resolve().parent.parent.parent / "shared" / "specs" / "plaid-transactions-sync.schemas.json"

_NULLABLE_OBJECT: dict[str, Any] = {"type": ["object", "null"]}
_STAND_INS: dict[str, Any] = {
    "AccountBase": {
        "type": "object",
        "required": ["account_id", "balances", "mask", "name", "official_name", "type", "subtype"],
        "properties": {
            "account_id": {"type": "string"},
            "balances": {
                "type": "object",
                "required": ["available", "current", "iso_currency_code", "unofficial_currency_code"],
                "properties": {
                    "available": {"type": ["number", "null"]},
                    "current": {"type": ["number", "null"]},
                    "limit": {"type": ["number", "null"]},
                    "iso_currency_code": {"type": ["string", "null"]},
                    "unofficial_currency_code": {"type": ["string", "null"]},
                },
            },
            "mask": {"type": ["string", "null"]},
            "name": {"type": "string"},
            "official_name": {"type": ["string", "null"]},
            "type": {"enum": ["investment", "credit", "depository", "loan", "brokerage", "other"]},
            "subtype": {"type": ["string", "null"]},
        },
    },
    "TransactionsUpdateStatus": {
        "enum": [
            "TRANSACTIONS_UPDATE_STATUS_UNKNOWN",
            "NOT_READY",
            "INITIAL_UPDATE_COMPLETE",
            "HISTORICAL_UPDATE_COMPLETE",
        ]
    },
    "RequestID": {"type": "string"},
    "Location": {"type": "object"},
    "PaymentMeta": {"type": "object"},
    "PersonalFinanceCategory": _NULLABLE_OBJECT,
    "BusinessFinanceCategory": _NULLABLE_OBJECT,
    "ClientCustomization": _NULLABLE_OBJECT,
    "TransactionCounterparty": {"type": "object", "required": ["name", "type"]},
    "TransactionCode": {"type": ["string", "null"]},
}


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable: true` on a typed schema admits null."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def load_schemas() -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.skip(f"Plaid schema file not found at {SPEC} (it lives beside the repo as ../shared/specs)")
    components = _json_schema(json.loads(SPEC.read_text(encoding="utf-8")))
    for name, stand_in in _STAND_INS.items():
        components.setdefault(name, copy.deepcopy(stand_in))
    return {"components": {"schemas": components}}


def validator(name: str = "TransactionsSyncResponse") -> jsonschema.protocols.Validator:
    document = load_schemas()
    schema = {**document, "$ref": f"#/components/schemas/{name}"}
    cls = jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(body: dict[str, Any], name: str = "TransactionsSyncResponse") -> list[str]:
    """Every way `body` departs from the schema, as 'path: message' lines (empty: valid)."""
    found = validator(name).iter_errors(body)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found)
