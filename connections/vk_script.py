"""VKScript for `execute` (docs/contracts/vk-market-api.md §5): up to 25 API calls in one request.

`build_execute_code` turns a list of `VkCall`s into code like

    var r0 = API.market.saveProductPhoto({"upload_response": "{…}"});
    var r1 = false;
    if (r0) { r1 = API.market.add({"owner_id": -1, "main_photo_id": r0.photo_id, …}); }
    return [r0, r1];

A parameter may refer to the result of an earlier call (`VkRef(0, "photo_id")`). A call that
refers to a failed call is skipped (it stays `false` and adds no `execute_errors` entry), so an
item is never created without the photo it was meant to have. Every literal is JSON-encoded;
method names, parameter names and reference paths are checked against strict patterns, so no
value can change the shape of the generated program.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MAX_CALLS = 25

_METHOD_RE = re.compile(r"^[a-z][A-Za-z0-9]*\.[a-z][A-Za-z0-9]*$")
_PARAM_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_FIELD_SEGMENT_RE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|\d+)$")


@dataclass(frozen=True)
class VkRef:
    """The result of call number `index` of the same batch, or one field of it ("photo_id",
    "items.0.id")."""

    index: int
    field: str | None = None


@dataclass(frozen=True)
class VkCall:
    """One API call; parameter values may be `VkRef`s (inside `execute` only)."""

    method: str
    params: dict


def refs_in(value: Any) -> set[int]:
    """Indexes of the calls a parameter value refers to."""
    if isinstance(value, VkRef):
        return {value.index}
    if isinstance(value, dict):
        return set().union(*(refs_in(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(refs_in(v) for v in value)) if value else set()
    return set()


def call_dependencies(call: VkCall) -> list[int]:
    return sorted(refs_in(call.params))


def js_string(text: str) -> str:
    """A JSON string literal that is also a safe JavaScript/VKScript literal."""
    return (
        json.dumps(text, ensure_ascii=False)
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _number(value: int | float | Decimal) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"Not a finite number: {value}")
        return format(value, "f")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"Not a finite number: {value}")
        return json.dumps(value)
    return str(int(value))


def _ref(ref: VkRef, count: int) -> str:
    if not 0 <= ref.index < count:
        raise ValueError(f"VkRef({ref.index}) must point at an earlier call of the batch.")
    code = f"r{ref.index}"
    if ref.field:
        for segment in ref.field.split("."):
            if not _FIELD_SEGMENT_RE.match(segment):
                raise ValueError(f"Bad field in VkRef: {ref.field!r}")
            code += f"[{segment}]" if segment.isdigit() else f".{segment}"
    return code


def encode_value(value: Any, *, earlier: int) -> str:
    """One parameter value as a VKScript expression; `earlier` = number of calls before it."""
    if isinstance(value, VkRef):
        return _ref(value, earlier)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, str):
        return js_string(value)
    if isinstance(value, list | tuple):
        # VK takes arrays as comma-separated strings; references are joined in by VKScript.
        if not refs_in(value):
            return js_string(",".join(form_value(v) for v in value))
        parts: list[str] = ['""']
        for position, item in enumerate(value):
            if position:
                parts.append('","')
            parts.append(encode_value(item, earlier=earlier))
        return " + ".join(parts)
    raise TypeError(f"Cannot send a {type(value).__name__} to VK.")


def form_value(value: Any) -> str:
    """A parameter value as VK wants it in a form field (arrays comma-separated, booleans 0/1)."""
    if isinstance(value, VkRef):
        raise TypeError("VkRef is only allowed inside execute().")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ",".join(form_value(v) for v in value)
    raise TypeError(f"Cannot send a {type(value).__name__} to VK.")


def build_execute_code(calls: list[VkCall] | tuple[VkCall, ...]) -> str:
    """The VKScript program running `calls` in order and returning all their results."""
    if not calls:
        raise ValueError("execute() needs at least one call.")
    if len(calls) > MAX_CALLS:
        raise ValueError(f"execute() takes at most {MAX_CALLS} calls, not {len(calls)}.")
    lines: list[str] = []
    for index, call in enumerate(calls):
        if not _METHOD_RE.match(call.method):
            raise ValueError(f"Bad VK method name: {call.method!r}")
        members = []
        for key, value in call.params.items():
            if not _PARAM_RE.match(key):
                raise ValueError(f"Bad VK parameter name: {key!r}")
            if value is None:
                continue
            members.append(f"{js_string(key)}: {encode_value(value, earlier=index)}")
        invocation = f"API.{call.method}({{{', '.join(members)}}})"
        deps = call_dependencies(call)
        if not deps:
            lines.append(f"var r{index} = {invocation};")
            continue
        lines.append(f"var r{index} = false;")
        opening = " ".join(f"if (r{dep}) {{" for dep in deps)
        lines.append(f"{opening} r{index} = {invocation}; {'}' * len(deps)}")
    lines.append(f"return [{', '.join(f'r{i}' for i in range(len(calls)))}];")
    return "\n".join(lines)


def js_falsy(value: Any) -> bool:
    """VKScript (JavaScript) truthiness of a JSON value: false, 0, "" and null are falsy."""
    return value is None or value is False or value == 0 or value == ""
