"""A small VKScript interpreter for the sandbox's `execute` (docs/contracts/vk-market-api.md §5).

Supported, which is what EvoSync's client generates plus simple hand-written scripts:

    statements   var x = <expr>;   x = <expr>;   return <expr>;
                 if (<expr>) { … } else { … }   (blocks of the same statements)
    expressions  API.<section>.<method>({…})   {"key": <expr>, key: <expr>}   [<expr>, …]
                 "strings"  'strings'  numbers  true  false  null  variables
                 member access a.b   indexing a[0] / a["b"]   a + b   (-<number>)
    comments     // …   /* … */

Anything else is a compile error (VK error 12). More than 25 API calls while running is a
runtime error (VK error 13). JavaScript truthiness and `+` semantics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_API_CALLS = 25


class CompileError(Exception):
    pass


class ScriptRuntimeError(Exception):
    pass


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<punct>[{}\[\](),:;.=+\-])
    """,
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = {"var", "return", "if", "else", "true", "false", "null"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _tokenize(code: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    append, match_at, length = tokens.append, _TOKEN_RE.match, len(code)
    position = 0
    while position < length:
        match = match_at(code, position)
        if not match:
            raise CompileError(f"unexpected character {code[position]!r} at {position}")
        position = match.end()
        kind = match.lastgroup
        if kind != "ws":
            append((kind, match.group()))
    append(("end", ""))
    return tokens


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    if "\\" not in body:
        return body  # most strings of a script: nothing to unescape
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u":
            digits = body[i + 2 : i + 6]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                raise CompileError("bad \\u escape")
            out.append(chr(int(digits, 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    text = "".join(out)
    # Join UTF-16 surrogate pairs written as two \u escapes (JSON does that for emoji).
    return text.encode("utf-16", "surrogatepass").decode("utf-16")


class _Parser:
    def __init__(self, code: str):
        self.tokens = _tokenize(code)
        self.pos = 0

    def peek(self, value: str | None = None) -> bool:
        kind, text = self.tokens[self.pos]
        return (text == value and kind in ("punct", "name")) if value else False

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        kind, text = self.take()
        if text != value or kind not in ("punct", "name"):
            raise CompileError(f"expected {value!r}, got {text or 'end of code'!r}")

    def program(self) -> list:
        statements = []
        while self.tokens[self.pos][0] != "end":
            statements.append(self.statement())
        return statements

    def block(self) -> list:
        if not self.peek("{"):
            return [self.statement()]
        self.expect("{")
        statements = []
        while not self.peek("}"):
            if self.tokens[self.pos][0] == "end":
                raise CompileError("missing '}'")
            statements.append(self.statement())
        self.expect("}")
        return statements

    def statement(self) -> tuple:
        kind, text = self.tokens[self.pos]
        if kind == "name" and text == "var":
            self.take()
            name = self.identifier()
            self.expect("=")
            value = self.expression()
            self.end_statement()
            return ("assign", name, value)
        if kind == "name" and text == "return":
            self.take()
            value = self.expression()
            self.end_statement()
            return ("return", value)
        if kind == "name" and text == "if":
            self.take()
            self.expect("(")
            condition = self.expression()
            self.expect(")")
            then = self.block()
            otherwise: list = []
            if self.peek("else"):
                self.take()
                otherwise = self.block()
            return ("if", condition, then, otherwise)
        if kind == "name" and text not in _KEYWORDS and self.tokens[self.pos + 1][1] == "=":
            name = self.identifier()
            self.expect("=")
            value = self.expression()
            self.end_statement()
            return ("assign", name, value)
        raise CompileError(f"unexpected {text or 'end of code'!r}")

    def end_statement(self) -> None:
        if self.peek(";"):
            self.take()
        elif not (self.peek("}") or self.tokens[self.pos][0] == "end"):
            raise CompileError("expected ';'")

    def identifier(self) -> str:
        kind, text = self.take()
        if kind != "name" or text in _KEYWORDS:
            raise CompileError(f"expected a name, got {text!r}")
        return text

    def expression(self) -> tuple:
        left = self.postfix()
        while self.peek("+"):
            self.take()
            left = ("add", left, self.postfix())
        return left

    def postfix(self) -> tuple:
        node = self.primary()
        while True:
            if self.peek("."):
                self.take()
                kind, text = self.take()
                if kind != "name":
                    raise CompileError(f"expected a field name after '.', got {text!r}")
                node = ("member", node, ("literal", text))
            elif self.peek("["):
                self.take()
                node = ("member", node, self.expression())
                self.expect("]")
            elif self.peek("("):
                self.take()
                args = []
                while not self.peek(")"):
                    args.append(self.expression())
                    if not self.peek(")"):
                        self.expect(",")
                self.expect(")")
                node = ("call", node, args)
            else:
                return node

    def primary(self) -> tuple:
        kind, text = self.take()
        if kind == "number":
            return ("literal", float(text) if any(c in text for c in ".eE") else int(text))
        if kind == "punct" and text == "-" and self.tokens[self.pos][0] == "number":
            _, digits = self.take()
            value = float(digits) if any(c in digits for c in ".eE") else int(digits)
            return ("literal", -value)
        if kind == "string":
            return ("literal", _unquote(text))
        if kind == "name":
            if text in ("true", "false"):
                return ("literal", text == "true")
            if text == "null":
                return ("literal", None)
            if text in _KEYWORDS:
                raise CompileError(f"unexpected {text!r}")
            return ("name", text)
        if kind == "punct" and text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if kind == "punct" and text == "[":
            items = []
            while not self.peek("]"):
                items.append(self.expression())
                if not self.peek("]"):
                    self.expect(",")
            self.expect("]")
            return ("array", items)
        if kind == "punct" and text == "{":
            members = []
            while not self.peek("}"):
                key_kind, key = self.take()
                if key_kind == "string":
                    key = _unquote(key)
                elif key_kind != "name":
                    raise CompileError(f"bad object key {key!r}")
                self.expect(":")
                members.append((key, self.expression()))
                if not self.peek("}"):
                    self.expect(",")
            self.expect("}")
            return ("object", members)
        raise CompileError(f"unexpected {text or 'end of code'!r}")


def compile_script(code: str) -> list:
    try:
        return _Parser(code).program()
    except IndexError:
        raise CompileError("unexpected end of code") from None


def js_truthy(value: Any) -> bool:
    return not (value is None or value is False or value == 0 or value == "")


def js_string(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def api_param(value: Any) -> str | None:
    """An evaluated value as a request parameter (None = left out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return js_string(value)


class _Return(Exception):
    def __init__(self, value):
        self.value = value


ApiCallback = Callable[[str, dict[str, str]], Any]


def run_script(code: str, api: ApiCallback) -> Any:
    """Runs `code`; `api(method, params)` performs one API call and returns its value (False
    when it failed). Raises CompileError or ScriptRuntimeError."""
    program = compile_script(code)
    env: dict[str, Any] = {}
    calls = [0]

    def evaluate(node: tuple) -> Any:
        kind = node[0]
        if kind == "literal":
            return node[1]
        if kind == "name":
            if node[1] == "API":
                return ("api",)
            if node[1] not in env:
                raise ScriptRuntimeError(f"{node[1]} is not defined")
            return env[node[1]]
        if kind == "array":
            return [evaluate(item) for item in node[1]]
        if kind == "object":
            return {key: evaluate(value) for key, value in node[1]}
        if kind == "add":
            left, right = evaluate(node[1]), evaluate(node[2])
            numbers = (int, float)
            if (
                isinstance(left, numbers)
                and isinstance(right, numbers)
                and not isinstance(left, bool)
                and not isinstance(right, bool)
            ):
                return left + right
            return js_string(left) + js_string(right)
        if kind == "member":
            target = evaluate(node[1])
            key = evaluate(node[2])
            if isinstance(target, tuple) and target and target[0] == "api":
                return (*target, str(key))
            if isinstance(target, dict):
                return target.get(js_string(key))
            if isinstance(target, list):
                if key == "length":
                    return len(target)
                if isinstance(key, int | float) and not isinstance(key, bool):
                    index = int(key)
                    return target[index] if 0 <= index < len(target) else None
            return None
        if kind == "call":
            target = evaluate(node[1])
            if not (isinstance(target, tuple) and len(target) == 3 and target[0] == "api"):
                raise ScriptRuntimeError("only API.<section>.<method>(…) can be called")
            args = [evaluate(arg) for arg in node[2]]
            if len(args) > 1 or (args and not isinstance(args[0], dict)):
                raise ScriptRuntimeError("an API method takes one object of parameters")
            calls[0] += 1
            if calls[0] > MAX_API_CALLS:
                raise ScriptRuntimeError("Too many API calls")
            params = {}
            for key, value in (args[0] if args else {}).items():
                encoded = api_param(value)
                if encoded is not None:
                    params[key] = encoded
            return api(f"{target[1]}.{target[2]}", params)
        raise ScriptRuntimeError(f"cannot evaluate {kind}")

    def execute_block(statements: list) -> None:
        for statement in statements:
            if statement[0] == "assign":
                env[statement[1]] = evaluate(statement[2])
            elif statement[0] == "return":
                raise _Return(evaluate(statement[1]))
            elif statement[0] == "if":
                branch = statement[2] if js_truthy(evaluate(statement[1])) else statement[3]
                execute_block(branch)

    try:
        execute_block(program)
    except _Return as result:
        value = result.value
        if isinstance(value, tuple):
            raise ScriptRuntimeError("cannot return an API method") from None
        return value
    return None
