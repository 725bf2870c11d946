"""OpenAPI 3.1 description of EvoSync's JSON endpoints: the Evotor webhooks and /health.

Built as a dict so the tests can validate real replies against the very schemas published at
/openapi.json (OpenAPI 3.1 schemas are JSON Schema 2020-12). Texts are English: the spec is for
developers and Evotor's integration team; /docs renders it.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from django.conf import settings

from connections.evotor_services import TOKEN_MAX_LENGTH, TOKEN_MIN_LENGTH, TOKEN_RE
from webhooks.payloads import CATALOG_TYPES, CHANGE_ACTIONS, USER_ID_RE

ERROR_CODES = [1001, 1002, 1003, 1006, 2001, 2002, 2003, 2004, 2005, 5003]
REF = "#/components/schemas/"


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _json(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _errors(description: str) -> dict:
    return _json("Errors", description)


# Text fields are trimmed and refused when they hold NUL (webhooks.payloads.text).
NO_NUL = "^[^\u0000]*$"
NOT_BLANK = "^[^\u0000]*[^\u0000\\s][^\u0000]*$"


def _text(max_length: int, *, blank: bool = False) -> dict:
    """A text field as payloads.text reads it; `blank` when "" / "  " count as absent."""
    return {"type": "string", "maxLength": max_length, "pattern": NO_NUL if blank else NOT_BLANK}


def _nullable(schema: dict) -> dict:
    """Optional fields may be null (Evotor's Java SDK writes nulls): read as absent."""
    return {"anyOf": [schema, {"type": "null"}]}


SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["code"],
        "properties": {
            "code": {
                "type": "integer",
                "enum": ERROR_CODES,
                "description": "1001 bad app secret; 1006 wrong user credentials; 2001 not a "
                "JSON object; 2002 a field is missing; 2003 a field's value is wrong; 2004 "
                "linked to another account; 2005 already registered; 5003 EvoSync cannot "
                "answer now (not an Evotor code: its database is down; repeat the call).",
            },
            "reason": {"type": "string", "examples": ["missing", "incorrect", "unauthorized"]},
            "subject": {"type": "string", "examples": ["userId", "email", "token"]},
            "value": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "Errors": {
        "type": "object",
        "description": "Evotor's error format (docs/contracts/evotor-api.md §7.6).",
        "required": ["errors"],
        "properties": {"errors": {"type": "array", "minItems": 1, "items": _ref("Error")}},
        "additionalProperties": False,
    },
    "Empty": {"type": "object", "maxProperties": 0},
    "UserId": {
        "type": "string",
        "pattern": USER_ID_RE.pattern,
        "description": "Evotor's user id, e.g. 01-000000000000001.",
        "examples": ["01-000000000000001"],
    },
    "UserCreateRequest": {
        "type": "object",
        "description": "`userId` plus the custom fields configured in the Evotor developer "
        "portal. `userUuid` is accepted for `userId`, `username`/`login` for `email`. "
        "Optional fields may be null. Every text field is trimmed and must not contain NUL.",
        "required": ["userId", "email"],
        "properties": {
            "userId": _ref("UserId"),
            "userUuid": _nullable(_ref("UserId")),
            "email": _ref("Email"),
            "username": _nullable(_ref("Email")),
            "login": _nullable(_ref("Email")),
            "password": {
                **_nullable(_ref("NewPassword")),
                "description": "Optional; without it the merchant sets one through "
                "'forgot password'.",
            },
            "name": _nullable(_text(150, blank=True)),
            "fullName": _nullable(_text(150, blank=True)),
            "full_name": _nullable(_text(150, blank=True)),
        },
    },
    "Email": {
        # Django's validate_email, in the form most addresses take (no quoted local parts).
        "type": "string",
        "maxLength": 254,
        "pattern": r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*"
        r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
        "examples": ["shop@example.ru"],
    },
    "NewPassword": {
        "type": "string",
        "minLength": 8,
        "maxLength": 4096,
        "allOf": [{"pattern": NO_NUL}, {"not": {"pattern": "^[0-9]*$"}}],
        "description": "At least 8 characters, not only digits; also refused (2003) when it is "
        "a common password or too close to the e-mail (Django's password validators).",
    },
    "UserCreateResponse": {
        "type": "object",
        "required": ["userId", "token"],
        "properties": {
            "userId": _ref("UserId"),
            "token": {
                "type": "string",
                "maxLength": 128,
                "description": "The EvoSync token Evotor sends back to us for this user.",
            },
        },
        "additionalProperties": False,
    },
    "UserVerifyRequest": {
        "type": "object",
        "description": "`login` (or `email`) is accepted for `username`, `userUuid` for `userId`.",
        "required": ["userId", "username", "password"],
        "properties": {
            "userId": _ref("UserId"),
            "userUuid": _nullable(_ref("UserId")),
            "username": {**_text(254), "description": "The EvoSync account's e-mail."},
            "login": _nullable(_text(254)),
            "email": _nullable(_text(254)),
            "password": {"type": "string", "minLength": 1, "maxLength": 4096, "pattern": NO_NUL},
        },
    },
    "UserVerifyResponse": {
        "type": "object",
        "required": ["userId", "hasBilling", "token"],
        "properties": {
            "userId": _ref("UserId"),
            "hasBilling": {"type": "boolean", "const": False},
            "token": {"type": "string", "maxLength": 128},
        },
        "additionalProperties": False,
    },
    "UserTokenRequest": {
        "type": "object",
        "required": ["userId", "token"],
        "properties": {
            "userId": _ref("UserId"),
            "userUuid": _nullable(_ref("UserId")),
            "token": {
                "type": "string",
                "minLength": TOKEN_MIN_LENGTH,
                "maxLength": TOKEN_MAX_LENGTH,
                "pattern": TOKEN_RE.pattern,
                "description": "The merchant's Evotor cloud token.",
            },
        },
    },
    "InstallationEvent": {
        "type": "object",
        "required": ["type"],
        "description": "ApplicationInstalled and ApplicationUninstalled need the user: "
        "`data.userId` (or `data.userUuid`, or either at the top level).",
        "properties": {
            "id": {
                **_nullable(_text(64, blank=True)),
                "description": "Replays of one id are applied once.",
            },
            "timestamp": {
                "type": ["integer", "string", "null"],
                "description": "Milliseconds since the epoch (a number or digits) or an ISO "
                "time; a time more than 5 minutes ahead counts as now.",
            },
            "version": {"type": "integer"},
            "type": {
                **_text(64),
                "examples": ["ApplicationInstalled", "ApplicationUninstalled"],
            },
            "userId": _nullable(_ref("UserId")),
            "userUuid": _nullable(_ref("UserId")),
            "data": {
                "type": ["object", "null"],
                "properties": {
                    "productId": _nullable(_text(64, blank=True)),
                    "userId": _nullable(_ref("UserId")),
                    "userUuid": _nullable(_ref("UserId")),
                },
            },
        },
        "if": {
            "required": ["type"],
            "properties": {"type": {"enum": ["ApplicationInstalled", "ApplicationUninstalled"]}},
        },
        "then": {
            "anyOf": [
                {"required": ["userId"], "properties": {"userId": _ref("UserId")}},
                {"required": ["userUuid"], "properties": {"userUuid": _ref("UserId")}},
                {
                    "required": ["data"],
                    "properties": {
                        "data": {
                            "type": "object",
                            "anyOf": [
                                {"required": ["userId"], "properties": {"userId": _ref("UserId")}},
                                {
                                    "required": ["userUuid"],
                                    "properties": {"userUuid": _ref("UserId")},
                                },
                            ],
                        }
                    },
                },
            ]
        },
    },
    "SubscriptionEvent": {
        "type": "object",
        "properties": {
            "id": _nullable(_text(64, blank=True)),
            "subscriptionId": _nullable(_text(40, blank=True)),
            "productId": {"type": ["string", "null"]},
            "userId": _nullable(_ref("UserId")),
            "userUuid": _nullable(_ref("UserId")),
            "timestamp": {"type": ["integer", "string", "null"]},
            "sequenceNumber": {"type": ["integer", "string", "null"]},
            "type": {**_nullable(_text(64, blank=True)), "examples": ["SubscriptionCreated"]},
        },
    },
    "ChangeEvent": {
        "description": "A change event Evotor pushes (docs/contracts/evotor-api.md §7.5): the envelope of the "
        "events API. Product, ProductGroup and ProductImage events (also spelled with an "
        "`Event` suffix) must name their store and object; other types are recorded and "
        "ignored.",
        "anyOf": [
            {
                "type": "object",
                "required": ["type", "action", "payload"],
                "properties": {
                    "id": _nullable(_text(64, blank=True)),
                    "timestamp": {"type": ["integer", "string", "null"]},
                    "type": {
                        "enum": [*CATALOG_TYPES, *(f"{t}Event" for t in CATALOG_TYPES)],
                    },
                    "action": {"enum": list(CHANGE_ACTIONS)},
                    "payload": {
                        "type": "object",
                        "required": ["store_id"],
                        "properties": {
                            "store_id": _text(64),
                            "id": _text(64),
                            "product_id": _text(64),
                            "user_id": _nullable(_ref("UserId")),
                        },
                        "anyOf": [{"required": ["id"]}, {"required": ["product_id"]}],
                    },
                },
                "if": {"properties": {"type": {"enum": ["ProductImage", "ProductImageEvent"]}}},
                "then": {"properties": {"payload": {"required": ["product_id"]}}},
                "else": {"properties": {"payload": {"required": ["id"]}}},
            },
            {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "id": _nullable(_text(64, blank=True)),
                    "timestamp": {"type": ["integer", "string", "null"]},
                    "type": {
                        **_text(64),
                        "not": {"enum": [*CATALOG_TYPES, *(f"{t}Event" for t in CATALOG_TYPES)]},
                        "examples": ["SystemEvent", "StoreEvent"],
                    },
                    "action": _nullable(_text(32, blank=True)),
                    "payload": {
                        "type": ["object", "null"],
                        "properties": {"user_id": _nullable(_ref("UserId"))},
                    },
                },
            },
        ],
    },
    "Health": {
        "type": "object",
        "required": ["status", "database", "broker"],
        "properties": {
            "status": {"enum": ["ok", "unavailable"]},
            "database": {"enum": ["ok", "error"]},
            "broker": {"enum": ["ok", "error"]},
        },
        "additionalProperties": False,
    },
}

_APP_SECRET = [{"appSecret": []}, {"appBasic": []}]
_EVENT_AUTH = [*_APP_SECRET, {"userToken": []}]
_UNAUTHORIZED = _errors("1001: the app secret is missing or wrong (or none is configured).")
_BAD_INPUT = _errors("2001 / 2002 / 2003: the body is not a JSON object, or a field is wrong.")
# Every webhook may also answer these two (webhooks.views).
_COMMON = {
    "429": _errors("1001: too many refused secrets from this address; retry after a minute."),
    "503": _errors("5003: EvoSync cannot answer now (its database is down); retry later."),
}


def _post(
    operation_id: str,
    summary: str,
    description: str,
    request: str,
    responses: dict,
    security,
) -> dict:
    return {
        "post": {
            "operationId": operation_id,
            "tags": ["Evotor webhooks"],
            "summary": summary,
            "description": description,
            "security": security,
            "requestBody": {"required": True, **_json(request, "JSON body")},
            "responses": {**responses, **_COMMON},
        }
    }


PATHS: dict[str, dict] = {
    "/user/create": _post(
        "userCreate",
        "Create an EvoSync account for an Evotor user",
        "Creates an account linked to the Evotor userId (docs/contracts/evotor-api.md §7.1); it can sign in "
        "to EvoSync once the address owner follows the link e-mailed to them. "
        "A replay for a linked userId with the same e-mail (or none) answers the same token.",
        "UserCreateRequest",
        {
            "200": _json("UserCreateResponse", "The account is linked."),
            "400": _BAD_INPUT,
            "401": _UNAUTHORIZED,
            "409": _errors("2005: the userId or the e-mail already has an account."),
        },
        _APP_SECRET,
    ),
    "/user/verify": _post(
        "userVerify",
        "Link an existing EvoSync account",
        "Checks the account's e-mail and password and links it to the Evotor userId (§7.2).",
        "UserVerifyRequest",
        {
            "200": _json("UserVerifyResponse", "The account is linked."),
            "400": _BAD_INPUT,
            "401": _errors("1001: bad app secret; 1006: wrong e-mail or password."),
            "409": _errors("2004: the account or the userId is linked elsewhere."),
        },
        _APP_SECRET,
    ),
    "/user/token": _post(
        "userToken",
        "Receive the merchant's Evotor cloud token",
        "Stores the token (encrypted) and starts a refresh of the cached catalog (§7.3).",
        "UserTokenRequest",
        {
            "200": _json("Empty", "Stored."),
            "400": _BAD_INPUT,
            "401": _UNAUTHORIZED,
            "404": _json("Empty", "No account is linked to this userId."),
        },
        _APP_SECRET,
    ),
    "/installation/event": _post(
        "installationEvent",
        "The app was installed or removed in Evotor",
        "ApplicationUninstalled switches the connection off and keeps the data; "
        "ApplicationInstalled switches it on. Other types are acknowledged and ignored. "
        "Each event id is applied once (§7.4).",
        "InstallationEvent",
        {
            "200": _json("Empty", "Acknowledged."),
            "400": _BAD_INPUT,
            "401": _UNAUTHORIZED,
        },
        _EVENT_AUTH,
    ),
    "/subscription/event": _post(
        "subscriptionEvent",
        "A billing event from Evotor",
        "Recorded and acknowledged; EvoSync does not bill through Evotor (§7.4).",
        "SubscriptionEvent",
        {
            "200": _json("Empty", "Acknowledged."),
            "400": _BAD_INPUT,
            "401": _UNAUTHORIZED,
        },
        _EVENT_AUTH,
    ),
    "/evotor/events": {
        "post": {
            "operationId": "evotorPush",
            "tags": ["Evotor webhooks"],
            "summary": "A product, group or picture changed in Evotor (push)",
            "description": "Evotor's signed push (docs/contracts/evotor-api.md §7.5): `X-Hub-Signature: "
            "sha1=<HMAC-SHA1 of the body with the app secret>` (sha256= accepted too; the "
            "header name is EVOTOR_PUSH_SIGNATURE_HEADER) and `X-Evotor-Delivery`. The event "
            "is recorded and answered at once, then applied by a background task. A repeated "
            "delivery or event id changes nothing twice; an event for no known merchant is "
            "recorded and ignored. Answers 404 when the push intake is off (EVOTOR_INTAKE). "
            "Legacy v1 product notifications are accepted at "
            "`/inventories/stores/{storeUuid}/products` with the merchant's EvoSync token.",
            "security": [{"hubSignature": []}],
            "parameters": [
                {
                    "name": "X-Evotor-Delivery",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 64},
                },
            ],
            "requestBody": {"required": True, **_json("ChangeEvent", "JSON body")},
            "responses": {
                "200": _json("Empty", "Recorded."),
                "400": _errors(
                    "2001 / 2002 / 2003: not a JSON object, no X-Evotor-Delivery, or a field "
                    "of the event is missing or wrong."
                ),
                "401": _errors("1001: the signature is missing or wrong."),
                "404": _json("Empty", "The push intake is switched off."),
                **_COMMON,
            },
        }
    },
    "/health": {
        "get": {
            "operationId": "health",
            "tags": ["Operations"],
            "summary": "Is the service up",
            "description": "200 when the database and the job broker answer, 503 otherwise.",
            "security": [],
            "responses": {
                "200": _json("Health", "Everything answers."),
                "503": _json("Health", "The database or the broker does not answer."),
            },
        }
    },
}


@lru_cache(maxsize=1)
def _base_spec() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "EvoSync JSON API",
            "version": "1.0.0",
            "description": "The endpoints the Evotor cloud calls (account linking, token "
            "delivery, installation and subscription events), in Evotor's own contract "
            "(https://developer.evotor.ru), and the health check.",
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "appSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The app secret from the Evotor developer portal "
                    "(EVOTOR_WEBHOOK_SECRET).",
                },
                "appBasic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Only when EVOTOR_WEBHOOK_BASIC_AUTH is configured.",
                },
                "hubSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Hub-Signature",
                    "description": "sha1=<hex HMAC-SHA1 of the raw body> with EVOTOR_PUSH_SECRET "
                    "(or EVOTOR_WEBHOOK_SECRET).",
                },
                "userToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The EvoSync token issued for the user the event is about.",
                },
            },
        },
    }


def spec() -> dict:
    """The whole description, with this site's address as the server."""
    document = copy.deepcopy(_base_spec())
    document["servers"] = [{"url": settings.BASE_URL}]
    return document


def schema_validator(name: str):
    """A jsonschema validator for one component schema (used by the tests)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator({"$ref": REF + name, "components": {"schemas": SCHEMAS}})


def _unwrapped(definition: dict) -> tuple[dict, bool]:
    """A property's schema for the /docs table: (the schema behind refs, whether null is ok)."""
    nullable = False
    if "anyOf" in definition and {"type": "null"} in definition["anyOf"]:
        nullable = True
        outer = {key: value for key, value in definition.items() if key != "anyOf"}
        inner = next(part for part in definition["anyOf"] if part != {"type": "null"})
        definition = {**inner, **outer}
    if "$ref" in definition:
        definition = {**SCHEMAS[definition["$ref"].removeprefix(REF)], **definition}
    return definition, nullable


def operations() -> list[dict]:
    """The operations flattened for the /docs page."""
    result = []
    for path, methods in PATHS.items():
        for method, operation in methods.items():
            body = operation.get("requestBody")
            fields = []
            if body:
                name = body["content"]["application/json"]["schema"]["$ref"].removeprefix(REF)
                schema = SCHEMAS[name]
                for field, definition in schema.get("properties", {}).items():
                    definition, nullable = _unwrapped(definition)
                    kind = definition.get("type", "")
                    kind = " | ".join(kind) if isinstance(kind, list) else kind
                    if nullable:
                        kind += " | null"
                    fields.append(
                        {
                            "name": field,
                            "type": kind,
                            "required": field in schema.get("required", []),
                            "description": definition.get("description", ""),
                        }
                    )
            result.append(
                {
                    "anchor": operation["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": operation["summary"],
                    "description": operation["description"],
                    "secured": bool(operation.get("security")),
                    "fields": fields,
                    "responses": [
                        {"code": code, "description": response["description"]}
                        for code, response in operation["responses"].items()
                    ],
                }
            )
    return result
