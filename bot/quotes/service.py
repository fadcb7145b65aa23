"""The quote collection's rules, shared by the Discord commands and the local console.

Why a service between the adapters and the store: both front ends must apply the same rules —
a quote is only saved when the transcript really contains it (and is saved in the transcript's
words, not the user's typing), duplicates are reported instead of stored twice, and only the
member who saved a quote or a moderator may remove it. Results are plain dataclasses so each
front end formats them its own way.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.model import MAX_INPUT_CHARS, N_, Message, Passage, is_ascii_number
from bot.quotes.backend import QuoteBackend
from bot.quotes.store import NewQuote, StoredQuote
from bot.text.normalize import matching_form, normalize
from bot.text.usertext import visible_text

log = logging.getLogger(__name__)

MAX_QUOTE_CHARS = MAX_INPUT_CHARS
MAX_QUOTE_NUMBER = 2**63 - 1  # SQLite's INTEGER; a larger number cannot name a quote
MIN_QUOTE_CONTENT_CHARS = 2
MAX_SEARCH_CHARS = 100
DEFAULT_PER_PAGE = 10
SEARCH_LIMIT = 10

AddStatus = Literal["added", "duplicate", "not_found", "invalid"]
RemoveStatus = Literal["removed", "not_found", "forbidden"]


class QuoteMatchLike(Protocol):
    """What ``Library.find_quote`` returns (``bot.library.QuoteMatch``)."""

    found: bool
    passage: Passage | None
    key: str
    quote_text: str
    suggestion: Passage | None


class QuoteVerifier(Protocol):
    """The one part of ``bot.library.Library`` the service needs: checking words are said."""

    def find_quote(self, text: str) -> QuoteMatchLike: ...


@dataclass(frozen=True)
class AddResult:
    """Outcome of saving a quote.

    ``quote`` is the new quote ("added") or the one already saved ("duplicate"); ``suggestion``
    is the closest passage when the words were not found; ``message`` explains "invalid".
    """

    status: AddStatus
    quote: StoredQuote | None = None
    passage: Passage | None = None
    suggestion: Passage | None = None
    message: Message | None = None


@dataclass(frozen=True)
class QuotePage:
    """One page of a guild's quotes, newest first; ``page`` is clamped into ``1..pages``."""

    quotes: tuple[StoredQuote, ...]
    page: int
    pages: int
    total: int
    per_page: int


@dataclass(frozen=True)
class SearchResult:
    """Quotes containing the query, newest first; ``message`` explains a refused query."""

    query: str
    quotes: tuple[StoredQuote, ...] = ()
    message: Message | None = None


@dataclass(frozen=True)
class RemoveResult:
    """Outcome of removing a quote; ``quote`` is the quote concerned (absent for not_found)."""

    status: RemoveStatus
    quote: StoredQuote | None = None


def _content_chars(text: str) -> int:
    """Letters, digits and ideographs — what is left once spaces, punctuation, emoji are gone."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def validate_quote_text(text: str) -> Message | None:
    """Why ``text`` cannot be a quote, or ``None`` when it may be checked against a transcript."""
    stripped = text.strip()
    if not stripped:
        return Message(N_("The quote is empty: give the exact words you want to save."))
    if len(stripped) > MAX_QUOTE_CHARS:
        return Message(
            N_(
                "The quote is {length} characters long; the limit is {limit}. "
                "Save a shorter part of it."
            ),
            {"length": len(stripped), "limit": MAX_QUOTE_CHARS},
        )
    content = _content_chars(stripped)
    if content == 0:
        return Message(N_("The quote has no words in it, only punctuation or symbols."))
    if content < MIN_QUOTE_CONTENT_CHARS:
        return Message(
            N_("The quote is too short to identify a passage; give a few more words.")
        )
    return None


def parse_quote_number(text: str) -> int | None:
    """A quote number typed by a user, or ``None``: ASCII digits only (``str.isdigit`` takes
    ``²`` and ``٣``, which ``int`` then refuses or reads differently), at most 19 of them, in
    range."""
    text = text.strip()
    if not is_ascii_number(text, 19):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_QUOTE_NUMBER else None


class QuoteService:
    """Verified saving, browsing and removing of a guild's quotes (``guild_id`` 0 = DMs/console)."""

    def __init__(self, library: QuoteVerifier, store: QuoteBackend) -> None:
        self.library = library
        self.store = store

    async def add(self, guild_id: int, user_id: int, user_name: str, text: str) -> AddResult:
        """Save ``text`` if the transcript contains it, in the transcript's own wording."""
        problem = validate_quote_text(text)
        if problem:
            return AddResult(status="invalid", message=problem)
        match = self.library.find_quote(text.strip())
        if not match.found or match.passage is None or not match.quote_text.strip():
            return AddResult(status="not_found", suggestion=match.suggestion)
        passage = match.passage
        quote, created = await self.store.add(
            guild_id,
            NewQuote(
                passage_id=passage.id,
                text=match.quote_text,
                key=match.key,
                speaker=passage.speaker,
                section=passage.section,
                link=passage.link,
                saved_by=user_id,
                saved_by_name=user_name,
            ),
        )
        return AddResult(status="added" if created else "duplicate", quote=quote, passage=passage)

    async def list_page(
        self, guild_id: int, page: int = 1, per_page: int = DEFAULT_PER_PAGE
    ) -> QuotePage:
        """A page of quotes; an out-of-range page number shows the nearest existing page."""
        total = await self.store.count(guild_id)
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages) if isinstance(page, int) else 1
        quotes, total = await self.store.page(guild_id, page, per_page)
        return QuotePage(
            quotes=tuple(quotes), page=page, pages=pages, total=total, per_page=per_page
        )

    async def random(self, guild_id: int) -> StoredQuote | None:
        return await self.store.random(guild_id)

    async def show(self, guild_id: int, number: int) -> StoredQuote | None:
        if not 1 <= number <= MAX_QUOTE_NUMBER:
            return None
        return await self.store.get(guild_id, number)

    async def count(self, guild_id: int) -> int:
        return await self.store.count(guild_id)

    async def search(self, guild_id: int, text: str, limit: int = SEARCH_LIMIT) -> SearchResult:
        """Quotes containing ``text``, literally or ignoring script, width, case, punctuation."""
        query = visible_text(text)  # echoed back: nothing invisible or bidi-reordering
        if not query:
            return SearchResult(query=query, message=Message(N_("Give some words to search for.")))
        if len(query) > MAX_SEARCH_CHARS:
            return SearchResult(
                query=query,
                message=Message(
                    N_("The search is too long; use at most {limit} characters."),
                    {"limit": MAX_SEARCH_CHARS},
                ),
            )
        found: dict[int, StoredQuote] = {}
        # The typed words, then the forms keys are stored in (simplified, folded, bare).
        for form in dict.fromkeys((query, normalize(query), matching_form(query))):
            if form:
                for quote in await self.store.search(guild_id, form, limit):
                    found.setdefault(quote.number, quote)
        newest_first = sorted(found.values(), key=lambda q: q.number, reverse=True)[:limit]
        return SearchResult(query=query, quotes=tuple(newest_first))

    async def remove(
        self, guild_id: int, number: int, user_id: int, can_manage: bool
    ) -> RemoveResult:
        """Remove a quote if ``user_id`` saved it or may manage messages; else change nothing."""
        quote = await self.show(guild_id, number)
        if quote is None:
            return RemoveResult(status="not_found")
        if quote.saved_by != user_id and not can_manage:
            return RemoveResult(status="forbidden", quote=quote)
        removed = await self.store.remove(guild_id, number, removed_by=user_id)
        if removed is None:  # removed by someone else between the two calls
            return RemoveResult(status="not_found")
        return RemoveResult(status="removed", quote=removed)


__all__ = [
    "MAX_QUOTE_CHARS",
    "AddResult",
    "QuotePage",
    "QuoteService",
    "QuoteVerifier",
    "RemoveResult",
    "SearchResult",
    "parse_quote_number",
    "validate_quote_text",
]
