"""Hypothesis strategies drawn from the JSON Schemas /openapi.json publishes.

hypothesis-jsonschema (the usual tool) does not run with the Hypothesis this project uses
(0.23.1 calls a Hypothesis internal that changed), so this covers the subset of JSON Schema
2020-12 our schemas use: $ref, anyOf, allOf, const, enum, type (one or a list), properties /
required, pattern, minLength / maxLength, and examples (drawn as they are, so conditional rules
such as InstallationEvent's if/then are reached). Every drawn value is filtered through the full
validator, so what comes out is valid by the schema itself.
"""

from __future__ import annotations

from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from webhooks.openapi import REF, SCHEMAS


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = {
            **SCHEMAS[schema["$ref"].removeprefix(REF)],
            **{key: value for key, value in schema.items() if key != "$ref"},
        }
    return schema


def _string(schema: dict) -> st.SearchStrategy:
    low, high = schema.get("minLength", 0), schema.get("maxLength", 80)
    patterns = [schema["pattern"]] if "pattern" in schema else []
    patterns += [part["pattern"] for part in schema.get("allOf", []) if "pattern" in part]
    if patterns:
        base = st.from_regex(patterns[0], fullmatch=True)
    else:
        base = st.text(min_size=low, max_size=min(high, 80))
    drawn = base.filter(lambda text: low <= len(text) <= high)
    examples = [e for e in schema.get("examples", []) if isinstance(e, str)]
    return st.sampled_from(examples) | drawn if examples else drawn


def _object(schema: dict) -> st.SearchStrategy:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {name: strategy(sub) for name, sub in properties.items() if name in required},
        optional={name: strategy(sub) for name, sub in properties.items() if name not in required},
    )


_BY_TYPE = {
    "string": _string,
    "object": _object,
    "integer": lambda schema: st.integers(min_value=-(2**53), max_value=2**53),
    "boolean": lambda schema: st.booleans(),
    "null": lambda schema: st.none(),
}


def strategy(schema: dict) -> st.SearchStrategy:
    """Values shaped by `schema` (not all valid: combine with `valid_for`)."""
    schema = _resolve(schema)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        outer = {key: value for key, value in schema.items() if key != "anyOf"}
        return st.one_of([strategy({**outer, **_resolve(part)}) for part in schema["anyOf"]])
    kinds = schema.get("type", "string")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return st.one_of([_BY_TYPE[kind](schema) for kind in kinds])


def valid_for(name: str) -> st.SearchStrategy:
    """Request bodies valid by the component schema `name`."""
    validator = Draft202012Validator({"$ref": REF + name, "components": {"schemas": SCHEMAS}})
    return strategy({"$ref": REF + name}).filter(validator.is_valid)
