"""Discord's own OpenAPI description as a test oracle for the bodies the bot sends.

``../shared/discord-api-spec/openapi.json`` (Discord's published spec of API v10; the
directory can be moved with ``$QUOTEBOT_SHARED_DIR``) maps every route to the JSON Schema
(2020-12) of its request body. This module turns an HTTP method plus a *concrete* request path
(``PUT /api/v10/applications/1/guilds/2/commands``) into that operation and validates a body
against it with ``jsonschema`` and ``referencing``; the spec is registered as one resource, so
the ``#/components/schemas/...`` references inside it resolve.

    spec = load_spec()                     # None when the spec file is absent
    spec.validate("PUT", "/api/v10/applications/1/commands", [...])   # -> list[str], [] = ok
    spec.validate("POST", path, form, content_type="multipart/form-data")  # form["payload_json"]

Errors read like ``$[0].options[1].max_value: 9007199254740992 is greater than the maximum of
9007199254740991``; where the spec offers alternatives (``oneOf``/``anyOf``, e.g. the kinds of
interaction callback or command option) the alternative the body was meant as is the one
reported. ``discord_errors`` nests them the way Discord's 400 "Invalid Form Body" does.

Self-contained on purpose (stdlib, jsonschema, referencing): the fake Discord API in
``fake_discord.py`` is its only user besides its own tests. The spec is parsed once per
process and each operation's validator compiled once (``functools.cache``).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:discord:openapi"  # the spec has no $id; this names it in the registry
# the checkout: the nearest folder above this file with a pyproject.toml (wherever tests/ puts it)
REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
_API_PREFIX = re.compile(r"^/api(?:/v\d+)?(?=/)")
_MAX_INSTANCE = 60  # characters of a value quoted in an error message

JSON = "application/json"
MULTIPART = "multipart/form-data"


def spec_path() -> Path:
    """Where the spec is looked for: ``$QUOTEBOT_SHARED_DIR`` or the repo's ``../shared``."""
    shared = os.environ.get("QUOTEBOT_SHARED_DIR")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "discord-api-spec" / "openapi.json"


def missing_reason() -> str | None:
    """Why the oracle cannot run (for ``pytest.skip``), or None when it can."""
    path = spec_path()
    if not path.is_file():
        return f"Discord's OpenAPI spec not found at {path} (set QUOTEBOT_SHARED_DIR)"
    return None


@functools.cache
def _load(path: Path) -> DiscordSpec:
    with path.open(encoding="utf-8") as handle:
        return DiscordSpec(json.load(handle))


def load_spec(path: Path | None = None) -> DiscordSpec | None:
    """The parsed spec (cached per path), or None when the file is absent."""
    path = path or spec_path()
    return _load(path) if path.is_file() else None


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    template: str  # the spec's path, e.g. /webhooks/{webhook_id}/{webhook_token}
    operation_id: str


class DiscordSpec:
    """One parsed OpenAPI document: route lookup and cached request-body validators."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry = Registry().with_resource(SPEC_URI, resource)
        # routes by (number of segments, first segment); a parameter first segment is keyed ""
        self._routes: dict[tuple[int, str], list[tuple[re.Pattern[str], str]]] = {}
        # literal segments beat parameters: .../messages/@original before .../{message_id}
        for template in sorted(document["paths"], key=lambda template: template.count("{")):
            self._routes.setdefault(_route_key(template), []).append(
                (_template_regex(template), template)
            )
        self._stubs = _kind_stubs(document.get("components", {}).get("schemas", {}))
        self._validator_class = _fast_unions(self._stubs)
        self._validator = functools.cache(self._compile)

    # ---- routes -----------------------------------------------------------------------

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation a concrete request path (full URL, /api/v10 prefix or bare) calls."""
        bare = _bare_path(path)
        count, first = _route_key(bare)
        candidates = self._routes.get((count, first), []) + self._routes.get((count, ""), [])
        for pattern, template in candidates:
            if pattern.fullmatch(bare):
                found = self.document["paths"][template].get(method.lower())
                if found is not None:
                    return Operation(method.upper(), template, found.get("operationId", ""))
        return None

    def request_schema(
        self, method: str, path: str, content_type: str = JSON
    ) -> Mapping[str, Any] | None:
        """The request-body schema for this call, or None when it takes no such body."""
        operation = self.operation(method, path)
        if operation is None:
            return None
        media = self._media_type(operation, content_type)
        if media is None:
            return None
        return self._operation_body(operation)["content"][media]["schema"]

    # ---- validation -------------------------------------------------------------------

    def validate(self, method: str, path: str, body: Any, content_type: str = JSON) -> list[str]:
        """Everything Discord's spec refuses in this request body; ``[]`` when it is valid.

        ``body`` is the parsed JSON (None: no body). For ``multipart/form-data`` it is the
        form as a mapping whose ``payload_json`` field holds the JSON part (files are ignored).
        """
        operation = self.operation(method, path)
        if operation is None:
            return [f"{method.upper()} {_bare_path(path)}: no such route in Discord's API"]
        where = f"{operation.method} {operation.template}"
        request_body = self._operation_body(operation)
        if body is None:
            if request_body.get("required"):
                return [f"{where}: a request body is required"]
            return []
        if not request_body:
            return [f"{where}: takes no request body"]
        media = self._media_type(operation, content_type)
        if media is None:
            accepted = ", ".join(request_body["content"])
            return [f"{where}: content type {content_type!r} not accepted ({accepted})"]
        if media == MULTIPART:
            try:
                body = _payload_json(body)
            except ValueError as error:
                return [f"{where}: {error}"]
        validator = self._validator(operation.template, operation.method.lower(), media)
        return [_describe(error) for error in _leaves(validator.iter_errors(body))]

    # ---- internals --------------------------------------------------------------------

    def _operation_body(self, operation: Operation) -> Mapping[str, Any]:
        return self.document["paths"][operation.template][operation.method.lower()].get(
            "requestBody", {}
        )

    def _media_type(self, operation: Operation, content_type: str) -> str | None:
        content = self._operation_body(operation).get("content", {})
        media = content_type.split(";")[0].strip().lower()
        if media in content:
            return media
        if media == MULTIPART and JSON in content:
            return JSON  # payload_json carries the JSON body
        return None

    def _compile(self, template: str, method: str, media: str) -> Draft202012Validator:
        pointer = "/".join(
            _escape(part) for part in ("paths", template, method, "requestBody", "content", media)
        )
        schema = {"$ref": f"{SPEC_URI}#/{pointer}/schema"}
        return self._validator_class(schema, registry=self._registry, format_checker=FORMATS)


# ---- formats ------------------------------------------------------------------------------

# jsonschema checks "uri" and "date-time" only with optional packages installed; these two are
# what a message body can carry (embed and button URLs, embed timestamps), so check them here.
FORMATS = FormatChecker(formats=())


@FORMATS.checks("uri", raises=ValueError)
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.scheme in ("attachment", "mailto")))


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return "T" in value.upper() and parsed.tzinfo is not None


# ---- speed: skip union branches of another kind ---------------------------------------------

# Discord's unions (command options, components, interaction callbacks) are tagged by a
# ``type`` property: {"$ref": ".../ApplicationCommandIntegerOption"} requires ``type`` in [4].
# jsonschema tries every branch of a oneOf in full (to prove only one matches), which made a
# message with buttons cost milliseconds. A branch whose tag cannot match the instance's
# ``type`` is replaced by its tag alone: it fails as it would have (on ``type``), at once, and
# the result and the branch numbering are unchanged. Enumerations are written as a oneOf of
# ``{"title": ..., "const": n}``: a value equal to exactly one of them passes without trying
# each; anything else takes jsonschema's own path, so errors read the same.

_CONST_ONLY = {"const", "title", "description"}


def _kind_stubs(schemas: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``#/components/schemas/X`` -> a schema of X's ``type`` tag alone, for tagged objects."""
    stubs = {}
    for name, schema in schemas.items():
        tag = (schema.get("properties") or {}).get("type")
        if isinstance(tag, dict) and "type" in (schema.get("required") or []):
            allowed = tag.get("enum", [tag["const"]] if "const" in tag else None)
            if allowed is not None:
                stubs[f"#/components/schemas/{name}"] = {
                    "type": "object",
                    "properties": {"type": {"enum": allowed}},
                    "required": ["type"],
                }
    return stubs


def _fast_unions(stubs: Mapping[str, dict[str, Any]]) -> type[Draft202012Validator]:
    def narrowed(branches: Sequence[Any], instance: Any) -> Sequence[Any]:
        if not isinstance(instance, dict) or "type" not in instance:
            return branches
        kind = instance["type"]
        if type(kind) not in (int, str):  # a bool equals 0/1 in Python, not in JSON Schema
            return branches
        result = []
        for branch in branches:
            stub = stubs.get(branch.get("$ref", "")) if isinstance(branch, dict) else None
            if stub is not None and kind not in stub["properties"]["type"]["enum"]:
                branch = stub
            result.append(branch)
        return result

    consts: dict[int, tuple[Sequence[Any], list[Any] | None]] = {}  # id(branches) ->

    def enumeration(branches: Sequence[Any]) -> list[Any] | None:
        """The values of a union made only of ``const`` branches (else None); cached."""
        cached = consts.get(id(branches))
        if cached is None or cached[0] is not branches:
            values = None
            if all(isinstance(b, dict) and "const" in b and b.keys() <= _CONST_ONLY
                   for b in branches):
                values = [b["const"] for b in branches]
            cached = consts[id(branches)] = (branches, values)
        return cached[1]

    def wrap(keyword: Any) -> Any:
        def check(validator: Any, branches: Any, instance: Any, schema: Any) -> Any:
            if type(instance) in (int, str):
                values = enumeration(branches)
                if values is not None and values.count(instance) == 1:
                    return ()
            return keyword(validator, narrowed(branches, instance), instance, schema)

        return check

    base = Draft202012Validator.VALIDATORS
    return validators.extend(
        Draft202012Validator,
        {"oneOf": wrap(base["oneOf"]), "anyOf": wrap(base["anyOf"])},
    )


# ---- helpers ------------------------------------------------------------------------------


def _escape(token: str) -> str:
    """One JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def _route_key(path: str) -> tuple[int, str]:
    segments = path.strip("/").split("/")
    return len(segments), "" if segments[0].startswith("{") else segments[0]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^/{}]+\})", template)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts if part)
    )


def _bare_path(path: str) -> str:
    """``https://discord.com/api/v10/x?y=1`` or ``/api/v10/x`` -> ``/x``."""
    bare = urlsplit(path).path or "/"
    bare = _API_PREFIX.sub("", bare)
    return "/" + bare.strip("/")


def _payload_json(form: Any) -> Any:
    if not isinstance(form, Mapping):
        return form  # already the parsed payload
    if "payload_json" not in form:
        return {key: value for key, value in form.items() if not key.startswith("files[")}
    raw = form["payload_json"]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if not isinstance(raw, str):
        raise ValueError("payload_json is not a text part")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"payload_json is not JSON ({error})") from None


def _branch_score(errors: Sequence[ValidationError]) -> tuple[int, int]:
    """How unlikely a oneOf/anyOf branch is the one meant: a wrong kind (``type``, or an
    enum/const on a direct property such as ``type: 4``) counts far more than other errors."""
    wrong_kind = sum(
        1
        for error in errors
        if (error.validator == "type" and not error.relative_path)
        or (error.validator in ("enum", "const") and len(error.relative_path) == 1)
    )
    return wrong_kind, len(errors)


def _leaves(errors: Iterable[ValidationError]) -> list[ValidationError]:
    """Replace each failed oneOf/anyOf by the errors of the branch the body was meant as."""
    found: list[ValidationError] = []
    for error in errors:
        if error.validator not in ("oneOf", "anyOf") or not error.context:
            found.append(error)
            continue
        if all(sub.validator == "const" and not sub.relative_path for sub in error.context):
            allowed = [sub.validator_value for sub in error.context]  # an enumeration
            error.message = f"{error.instance!r} is not one of {allowed!r}"
            found.append(error)
            continue
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        best = min(branches.values(), key=_branch_score)
        if _branch_score(best)[0]:
            found.append(error)  # no branch is even the right kind: say so at this level
        else:
            found.extend(_leaves(best))
    return found


def _describe(error: ValidationError) -> str:
    """``$.path: message``, with a long instance (a whole embed, a long text) abridged."""
    message = error.message
    shown = repr(error.instance)
    if len(shown) > _MAX_INSTANCE and message.startswith(shown):
        size = f" ({len(error.instance)} long)" if isinstance(error.instance, Sized) else ""
        message = f"{shown[:_MAX_INSTANCE]}…{size}{message[len(shown):]}"
    return f"{error.json_path}: {message}"


_PATH_PART = re.compile(r"\[(\d+)\]|\.([^.\[]+)|\['((?:[^'\\]|\\.)*)'\]")


def discord_errors(problems: Iterable[str]) -> dict[str, Any]:
    """Nest ``$.a[0].b: msg`` problems like Discord's 400 body: ``{"a": {"0": {"b":
    {"_errors": [{"code": "BASE_TYPE_INVALID", "message": msg}]}}}}``; a problem without a
    JSON path goes to the top-level ``_errors``. discord.py flattens this into its message."""
    nested: dict[str, Any] = {}
    for problem in problems:
        node = nested
        head, sep, message = problem.partition(": ")
        if sep and head.startswith("$"):
            for index, name, quoted in _PATH_PART.findall(head[1:]):
                node = node.setdefault(index or name or quoted, {})
        else:
            message = problem
        node.setdefault("_errors", []).append({"code": "BASE_TYPE_INVALID", "message": message})
    return nested
