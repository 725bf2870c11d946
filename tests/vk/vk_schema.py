"""VK's own JSON schema (VKCOM/vk-api-schema, 5.199) as a validator for the sandbox and client.

The subset the tests need is vendored next to this module (`vk_api_schema/`, MIT, with its
LICENSE and provenance); VK_API_SCHEMA_DIR points at another copy instead, for example a newer
revision. A folder without the files is an error, not a reason to skip.

The files are draft-07 with draft-03 habits: `"required": true` on a property instead of a
`required` list on its object, and `$schema` pointing at a custom meta-schema. Both are
rewritten on load. Documented schema gaps are tolerated explicitly, and only these:

- docs/contracts/vk-market-api.md §9: items carry `category` as `market_market_category_old` with a `section`
  in production, while the schema only knows `market_market_category_nested`; both are accepted.
- real error bodies (docs/contracts/vk-market-api.md §1, copied verbatim from production) have no `inner_type`,
  which `base_error` lists as required; it is not required here.
- the captcha fields and the item's `dimensions`/`weight` (§9) need nothing: the schema allows
  extra properties.
"""

from __future__ import annotations

import copy
import json
import os
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from django.conf import settings

DEFAULT_DIR = Path(__file__).resolve().parent / "vk_api_schema"
FILES = [
    "base/objects.json",
    "base/responses.json",
    "errors.json",
    "execute/methods.json",
    "link/objects.json",
    "market/methods.json",
    "market/objects.json",
    "market/responses.json",
    "photos/methods.json",
    "photos/objects.json",
    "photos/responses.json",
    "video/objects.json",
]
# Parameters every method takes (docs/contracts/vk-market-api.md §1, §6), not listed per method.
GLOBAL_PARAMS = {"v", "lang", "test_mode", "captcha_sid", "captcha_key"}

PRODUCTION_CATEGORY = {
    "type": "object",
    "properties": {
        "inner_type": {"enum": ["market_market_category_old"]},
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "section": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            "required": ["id", "name"],
        },
    },
    "required": ["id", "name", "section"],
}


def schema_dir() -> Path:
    """The vendored schema, or the folder VK_API_SCHEMA_DIR names (relative to the project)."""
    configured = os.environ.get("VK_API_SCHEMA_DIR")
    path = Path(configured) if configured else DEFAULT_DIR
    if not path.is_absolute():
        path = Path(settings.BASE_DIR) / path
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"VK's schema files are not in {path} (VK_API_SCHEMA_DIR): missing {', '.join(missing)}"
        )
    return path


def _lift_required(node):
    """Draft-03 `"required": true` on properties → draft-07 `required` lists."""
    if isinstance(node, list):
        return [_lift_required(item) for item in node]
    if not isinstance(node, dict):
        return node
    properties = node.get("properties")
    lifted = []
    if isinstance(properties, dict):
        lifted = [
            n for n, s in properties.items() if isinstance(s, dict) and s.get("required") is True
        ]
    node = {key: _lift_required(value) for key, value in node.items()}
    if isinstance(node.get("required"), bool):
        del node["required"]
    if lifted:
        node["required"] = sorted(set(node.get("required", [])) | set(lifted))
    return node


@cache
def _documents() -> dict[str, dict]:
    root = schema_dir()
    documents = {}
    for name in FILES:
        raw = json.loads((root / name).read_text(encoding="utf-8"))
        raw.pop("$schema", None)
        # methods.json lists parameters, where `required: true` is meant as it is.
        documents[name] = raw if name.endswith("methods.json") else _lift_required(raw)
    # The two tolerated gaps (see the module docstring).
    objects = documents["market/objects.json"]["definitions"]
    objects["market_market_category"] = {
        "anyOf": [copy.deepcopy(objects["market_market_category"]), PRODUCTION_CATEGORY]
    }
    error = documents["base/objects.json"]["definitions"]["base_error"]
    error["required"] = [r for r in error.get("required", []) if r != "inner_type"]
    return documents


def _uri(name: str) -> str:
    return (schema_dir() / name).resolve().as_uri()


@cache
def _registry():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    return Registry().with_resources(
        (_uri(name), Resource.from_contents(doc, default_specification=DRAFT7))
        for name, doc in _documents().items()
    )


def validate(instance, ref: str) -> None:
    """Validates against e.g. "market/responses.json#/definitions/market_get_response"."""
    from jsonschema import Draft7Validator

    name, _, pointer = ref.partition("#")
    schema = {"$ref": f"{_uri(name)}#{pointer}"}
    Draft7Validator(schema, registry=_registry()).validate(instance)


@cache
def methods() -> dict[str, dict]:
    found = {}
    for name in ("market/methods.json", "photos/methods.json", "execute/methods.json"):
        for method in _documents()[name]["methods"]:
            found[method["name"]] = method
    return found


def response_ref(method: str, *, extended: bool = False) -> str:
    responses = methods()[method]["responses"]
    chosen = responses.get("extendedResponse") if extended else None
    chosen = chosen or responses.get("response") or next(iter(responses.values()))
    ref = chosen["$ref"]  # "../market/responses.json#/definitions/…"
    return ref.removeprefix("../")


def validate_response(method: str, body: dict, *, extended: bool = False) -> None:
    validate(body, response_ref(method, extended=extended))


def validate_error(error: dict) -> None:
    validate(error, "base/objects.json#/definitions/base_error")


def parameter_problems(method: str, params: dict[str, str]) -> list[str]:
    """What is wrong with a request's parameters by the method's schema (empty when fine)."""
    spec = methods().get(method)
    if spec is None:
        return [f"{method}: not in the schema"]
    declared = {p["name"]: p for p in spec.get("parameters", [])}
    problems = [
        f"{method}: unknown parameter {name}"
        for name in params
        if name not in declared and name not in GLOBAL_PARAMS
    ]
    for name, param in declared.items():
        if name not in params:
            if param.get("required"):
                problems.append(f"{method}: missing {name}")
            continue
        problems += [f"{method}.{name}: {p}" for p in _value_problems(param, params[name])]
    return problems


def _value_problems(spec: dict, value: str) -> list[str]:
    kind = spec.get("type")
    if kind == "array":
        items = [v for v in value.split(",")] if value != "" else []
        problems = []
        if "maxItems" in spec and len(items) > spec["maxItems"]:
            problems.append(f"more than {spec['maxItems']} items")
        for item in items:
            problems += _value_problems(spec.get("items", {}), item)
        return problems
    if kind == "boolean":
        return [] if value in ("0", "1") else [f"{value!r} is not 0/1"]
    if kind in ("integer", "number"):
        try:
            number = Decimal(value) if kind == "number" else Decimal(int(value))
        except (InvalidOperation, ValueError):
            return [f"{value!r} is not an {kind}"]
        problems = []
        if "minimum" in spec and number < spec["minimum"]:
            problems.append(f"{value} < {spec['minimum']}")
        if "maximum" in spec and number > spec["maximum"]:
            problems.append(f"{value} > {spec['maximum']}")
        return problems
    if kind == "string":
        problems = []
        if "minLength" in spec and len(value) < spec["minLength"]:
            problems.append(f"shorter than {spec['minLength']}")
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            problems.append(f"longer than {spec['maxLength']}")
        return problems
    return []
