"""Discord's size limits and the one place where text is trimmed to fit them.

Discord rejects a whole message (HTTP 400) when any part is a character too long, and the
interaction then looks dead to the user. Every string we send goes through these helpers, so an
absurd quote or question is shortened with an ellipsis instead of breaking the reply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import discord

from bot.model import ELLIPSIS, MAX_INPUT_CHARS

CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000  # summed over every embed of one message
EMBED_FIELDS = 25
EMBEDS_PER_MESSAGE = 10
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
MAX_INPUT = MAX_INPUT_CHARS  # our own limit on questions and quotes people type


def truncate(text: str | None, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut.

    A cut must not leave Markdown half-open: an unpaired ``**`` would bold the rest of the
    message, and a trailing ``\\`` or ``*`` would swallow the ellipsis, so those are dropped.
    """
    text = text or ""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit == 1:
        return ELLIPSIS
    cut = text[: limit - 1].rstrip()
    if cut.count("**") % 2:
        at = cut.rfind("**")
        cut = cut[:at] + cut[at + 2 :]
    cut = cut.rstrip("\\*").rstrip()
    return cut + ELLIPSIS


def too_long(text: str, limit: int = MAX_INPUT) -> bool:
    return len(text) > limit


def fit_content(text: str | None) -> str:
    return truncate(text, CONTENT)


def embed_length(data: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6000 total (same parts discord.Embed counts)."""
    total = len(data.get("title") or "") + len(data.get("description") or "")
    for item in data.get("fields") or ():
        total += len(item.get("name") or "") + len(item.get("value") or "")
    total += len((data.get("footer") or {}).get("text") or "")
    total += len((data.get("author") or {}).get("name") or "")
    return total


def _fit_parts(data: dict[str, Any]) -> None:
    if "title" in data:
        data["title"] = truncate(data["title"], EMBED_TITLE)
    if "description" in data:
        data["description"] = truncate(data["description"], EMBED_DESCRIPTION)
    if data.get("footer"):
        data["footer"]["text"] = truncate(data["footer"].get("text"), FOOTER_TEXT)
    if data.get("author"):
        data["author"]["name"] = truncate(data["author"].get("name"), AUTHOR_NAME)
    fields = (data.get("fields") or [])[:EMBED_FIELDS]
    for item in fields:
        # Discord also refuses empty names/values, so an emptied one becomes a placeholder.
        item["name"] = truncate(item.get("name"), FIELD_NAME) or "\u200b"
        item["value"] = truncate(item.get("value"), FIELD_VALUE) or "\u200b"
    if "fields" in data:
        data["fields"] = fields


def _shrink_once(data: dict[str, Any], excess: int) -> None:
    """Remove at least one character (ideally ``excess``) from the least important part."""
    description = data.get("description") or ""
    if len(description) > 200:
        data["description"] = truncate(description, max(200, len(description) - excess))
        return
    fields = data.get("fields") or []
    if fields:
        longest = max(fields, key=lambda f: len(f["value"]))
        if len(longest["value"]) > 100:
            longest["value"] = truncate(longest["value"], max(100, len(longest["value"]) - excess))
        else:
            fields.pop()
        return
    for key in ("description", "title"):
        if data.get(key):
            data[key] = truncate(data[key], max(0, len(data[key]) - max(excess, 1)))
            return
    for key in ("footer", "author"):
        part = data.get(key)
        if part:
            name = "text" if key == "footer" else "name"
            part[name] = truncate(part[name], max(0, len(part[name]) - max(excess, 1)))
            return


def fit_embed_dict(data: dict[str, Any], total: int = EMBED_TOTAL) -> dict[str, Any]:
    """Trim every part of an embed (as a dict) to its own limit and the whole to ``total``."""
    data = {
        **data,
        "fields": [dict(f) for f in data.get("fields") or []],
        "footer": dict(data["footer"]) if data.get("footer") else None,
        "author": dict(data["author"]) if data.get("author") else None,
    }
    for key in ("fields", "footer", "author"):
        if not data[key]:
            del data[key]
    _fit_parts(data)
    while embed_length(data) > total:
        before = embed_length(data)
        _shrink_once(data, embed_length(data) - total)
        if embed_length(data) >= before:  # nothing left to shrink
            break
    return data


def fit_embeds(embeds: Iterable[discord.Embed]) -> list[discord.Embed]:
    """Fit up to 10 embeds of one message, sharing the 6000-character total between them."""
    embeds = list(embeds)[:EMBEDS_PER_MESSAGE]
    if not embeds:
        return []
    budget = EMBED_TOTAL // len(embeds)
    return [discord.Embed.from_dict(fit_embed_dict(e.to_dict(), budget)) for e in embeds]


def fit_embed(embed: discord.Embed) -> discord.Embed:
    return fit_embeds([embed])[0]


def fit_choices(
    choices: Sequence[tuple[str, str]],
) -> list[discord.app_commands.Choice[str]]:
    """At most 25 autocomplete choices with names and values of at most 100 characters."""
    return [
        discord.app_commands.Choice(
            name=truncate(name, CHOICE_NAME) or ELLIPSIS, value=truncate(value, CHOICE_VALUE)
        )
        for name, value in choices[:CHOICES]
    ]
