"""The one schema of ``<name>.meta.json``, and a JSON reader with bounds.

Why jsonschema rather than checks by hand: the rules (types, sizes, ranges, allowed keys)
are one declarative document that can be read, published and tested as a whole, and the
library reports *where* a value is wrong (``glossary.scale[0]``) for any nesting without
code per key. Pydantic would also do, but it models Python objects, not a file format, and
pulls in a compiled core; jsonschema is pure Python and well kept. What a schema cannot say
— times in order, a bounded nesting depth, no huge integers, no ``NaN`` — is checked here
around it.

Every problem is one `MetadataProblem` with the key path and a short reason, e.g.
``glossary.scale[0]: expected a string``; `bot.metadata` adds the file name and line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

MAX_META_BYTES = 1_000_000  # the bundled file is 5 kB; a big glossary stays far below
MAX_DEPTH = 8  # the schema's deepest value (turns[0].start) is at depth 3
MAX_INT_DIGITS = 15  # seconds and counts; more digits is a mistake or an attack
MAX_SECONDS = 1_000_000.0  # about 11.5 days of video
MAX_TERMS = 10_000
MAX_TURNS = 100_000
LANGUAGES = ("zh", "en")
FORMATS = ("article", "whisper", "srt", "vtt")

_SECONDS = {"type": "number", "minimum": 0, "maximum": MAX_SECONDS}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 100}
_TERM = {"type": "string", "minLength": 1, "maxLength": 50, "pattern": r"\S"}
_LABEL = {
    "type": "string", "minLength": 1, "maxLength": 24,
    "pattern": "^[^:\uff1a\\n]*[^:\uff1a\\s][^:\uff1a\\n]*$",
    "x-message": "a speaker label is a few characters without a colon, e.g. \"Q\"",
}
_PERSON = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": _TEXT,
        "labels": {"type": "array", "maxItems": 20, "items": _LABEL},
    },
}

SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Interview Quote Bot transcript metadata (<name>.meta.json)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "id": {
            "type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\s/\\\\]+$",
            "x-message": "an id is 1-100 characters without spaces or slashes",
        },
        "title": {"type": ["string", "null"], "minLength": 1, "maxLength": 300},
        "language": {"enum": list(LANGUAGES)},
        "format": {"enum": [*FORMATS, None]},
        "host": _PERSON,
        "guest": _PERSON,
        "video_url": {
            "type": ["string", "null"], "maxLength": 2000, "pattern": "^https?://[^\\s]+$",
            "x-message": "expected an http:// or https:// URL",
        },
        "terms": {"type": "array", "maxItems": MAX_TERMS, "items": _TERM},
        "glossary": {
            "type": "object",
            "maxProperties": MAX_TERMS,
            "propertyNames": {"minLength": 1, "maxLength": 100},
            "additionalProperties": {
                "type": "array", "minItems": 1, "maxItems": 50, "items": _TERM,
            },
        },
        "turn_starts": {"type": "array", "maxItems": MAX_TURNS, "items": _SECONDS},
        "turns": {
            "type": "array",
            "maxItems": MAX_TURNS,
            "items": {
                "type": "object",
                "required": ["start", "speaker"],
                "additionalProperties": False,
                "properties": {"start": _SECONDS, "speaker": {"enum": ["host", "guest"]}},
            },
        },
        "passage_starts": {
            "type": "object",
            "maxProperties": MAX_TURNS,
            "propertyNames": {
                "pattern": "^[1-9][0-9]{0,6}$",
                "x-message": "a key is a paragraph's line number, like \"17\"",
            },
            "additionalProperties": _SECONDS,
        },
        "speakers": {
            "type": "object",
            "maxProperties": 1000,
            "propertyNames": _TEXT,
            "additionalProperties": {
                "enum": ["host", "guest"],
            },
        },
        "aliases": {
            "type": "object",
            "maxProperties": MAX_TERMS,
            "propertyNames": _TERM,
            "additionalProperties": _TERM,
        },
    },
}

_VALIDATOR = Draft202012Validator(SCHEMA)
_TYPE_NAMES = {
    "string": "a string", "number": "a number", "integer": "a whole number",
    "array": "a list", "object": "an object", "null": "null", "boolean": "true or false",
}


class MetadataProblem(ValueError):
    """One thing wrong in a metadata document: ``path`` (``glossary.scale[0]``) and why."""

    def __init__(self, path: str, reason: str, line_key: str = "") -> None:
        self.path = path
        self.reason = reason
        self.line_key = line_key  # the top-level key, to find the line in the file
        super().__init__(f"{path}: {reason}" if path else reason)


def key_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# --------------------------------------------------------------------------- bounded JSON


class _TooBig(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooBig(f"a number with more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _TooBig("a number too large to be finite")
    return value


def _parse_constant(text: str) -> float:
    raise _TooBig(f"{text} is not a number JSON allows")


def _depth(value: object) -> int:
    """Nesting depth, iteratively (a recursive walk would overflow on what it measures)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(data: bytes) -> object:
    """Decode a metadata file's bytes with bounds on size, depth and numbers.

    Raises `json.JSONDecodeError` for malformed JSON (it carries the line) and
    `MetadataProblem` for anything out of bounds.
    """
    if len(data) > MAX_META_BYTES:
        raise MetadataProblem("", f"the file is {len(data):,} bytes; the limit is "
                                  f"{MAX_META_BYTES:,}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MetadataProblem("", "not valid UTF-8 text") from None
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=_parse_constant)
    except _TooBig as exc:
        raise MetadataProblem("", f"contains {exc}") from None
    except RecursionError:
        raise MetadataProblem("", f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(value) > MAX_DEPTH:
        raise MetadataProblem("", f"nested deeper than {MAX_DEPTH} levels")
    return value


# --------------------------------------------------------------------------- validation


def _reason(error: ValidationError) -> str:
    kind, expected = error.validator, error.validator_value
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if kind == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return "expected " + " or ".join(_TYPE_NAMES.get(k, k) for k in kinds)
    if custom and kind in ("pattern", "minLength", "maxLength"):
        return str(custom)
    if kind == "minLength":
        return "must not be empty"
    if kind == "maxLength":
        return f"longer than {expected:,} characters"
    if kind == "pattern":
        return "must contain a visible character"
    if kind == "minItems":
        return f"needs at least {expected} item{'s' if expected != 1 else ''}"
    if kind in ("maxItems", "maxProperties"):
        return f"more than {expected:,} items"
    if kind == "minimum":
        return "must not be negative"
    if kind == "maximum":
        return f"must be at most {expected:,g}"
    if kind == "enum":
        return "expected one of " + ", ".join(json.dumps(x) for x in expected)
    if kind == "required":
        missing = [k for k in expected if k not in error.instance]
        return f"missing {missing[0]!r}" if missing else "missing a key"
    if kind == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        return f"unknown key {extra[0]!r}" + (
            f" (known: {', '.join(sorted(known))})" if known else ""
        )
    if kind == "propertyNames":
        return "a key is empty or longer than 100 characters"
    return error.message[:200]


def _check_order(values: list[float], path: str) -> None:
    for index in range(1, len(values)):
        if values[index] < values[index - 1]:
            raise MetadataProblem(
                f"{path}[{index}]", f"{values[index]:g} s comes before the previous "
                f"{values[index - 1]:g} s; times must be in order", path,
            )


def validate(raw: object) -> dict:
    """Check a decoded metadata document; return it unchanged or raise `MetadataProblem`."""
    errors = sorted(
        _VALIDATOR.iter_errors(raw), key=lambda e: (len(e.absolute_path), list(map(str, e.path)))
    )
    if errors:
        # The shallowest problem first: a wrong type of a whole key explains its items.
        error = errors[0]
        parts = list(error.absolute_path)
        top = str(parts[0]) if parts else ""
        if error.validator == "additionalProperties" and not parts:
            extra = sorted(k for k in error.instance if k not in SCHEMA["properties"])
            top = extra[0] if extra else ""
        raise MetadataProblem(key_path(parts) or "(top level)", _reason(error), top)
    assert isinstance(raw, dict)
    if raw.get("turn_starts"):
        _check_order([float(x) for x in raw["turn_starts"]], "turn_starts")
    if raw.get("turns"):
        _check_order([float(t["start"]) for t in raw["turns"]], "turns")
    # passage_starts are checked against their turns, in order, by `bot.formats.article`
    return raw


__all__ = ["MAX_META_BYTES", "SCHEMA", "MetadataProblem", "parse_json", "validate"]
