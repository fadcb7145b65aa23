"""Plain data shared by every layer: transcripts, turns, passages and answers.

These classes carry no behaviour beyond small derived properties, so adapters (Discord,
console, CLI) can render them without knowing how they were produced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HOST = "host"
GUEST = "guest"
UNKNOWN = "unknown"
EDITOR = "editor"

ELLIPSIS = "…"  # marks text cut short, in snippets and in every front end
MAX_INPUT_CHARS = 500  # the longest question or quote anyone may type, on every front end


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name for a marker
    """Marks an English message id for extraction (``pybabel extract``); returns it unchanged.

    The core never translates: it hands front ends a `Message`, which they show in the
    language of the person reading it (``bot.frontends.i18n.text``)."""
    return message


@dataclass(frozen=True)
class Message:
    """Something to tell a person: a gettext message id with ``{name}`` placeholders, and the
    values for them. ``str()`` is the English text (logs, and callers that need no catalog)."""

    id: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.id.format(**self.params)


class LibraryError(Exception):
    """The data dir cannot be served; the message is one line for an operator."""


class QueryError(ValueError):
    """A question we refuse before searching; ``message`` is for the person who asked.

    It never names a front end's commands: each front end adds its own hint."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = Message(message, params)
        super().__init__(str(self.message))


def timestamped_url(url: str, start: float | None) -> str:
    """Return ``url`` pointing at ``start`` seconds, so a click lands on the moment quoted.

    Only YouTube-style ``t=`` links are produced; any existing ``t`` parameter is replaced.
    """
    if not url or start is None:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "t"]
    query.append(("t", f"{int(start)}s"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def is_ascii_number(text: str, max_digits: int = 18) -> bool:
    """Whether ``text`` is 1 to ``max_digits`` ASCII digits. ``str.isdigit`` alone also takes
    ``²`` and ``٣``, which ``int`` then refuses (a traceback) or reads as another number."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def start_of_link(url: str) -> float | None:
    """The ``t=`` second of a link made by `timestamped_url` (None when it has none), so a
    stored link is enough to show when a saved quote was said."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "t" and is_ascii_number(value.rstrip("s")):
            return float(value.rstrip("s"))
    return None


def format_time(start: float | None) -> str:
    """``mm:ss`` (or ``h:mm:ss``) for display; empty when the time is unknown."""
    if start is None:
        return ""
    total = int(start)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes:02d}:{seconds:02d}"


class Passage(NamedTuple):
    """One paragraph (article) or a few sentences (captions) said by one speaker.

    ``question`` is the host question the passage's turn answers, so a guest passage can be
    found through the question it responds to and shown with it. A named tuple rather than a
    dataclass: a library holds 100,000 of them and rebuilds them from its cache at every
    start, where tuple construction is an order of magnitude cheaper.
    """

    id: str
    transcript_id: str
    index: int
    text: str
    role: str
    speaker: str
    section: str
    turn: int
    question: str
    video_url: str
    start: float | None = None
    line: int = 0
    language: str = "zh"

    @property
    def link(self) -> str:
        return timestamped_url(self.video_url, self.start)

    def to_json(self) -> dict:
        """The passage as data (``quotebot export``): ``video_url`` links to its moment."""
        return {
            "id": self.id,
            "text": self.text,
            "speaker": self.speaker,
            "role": self.role,
            "section": self.section,
            "question": self.question,
            "start": self.start,
            "time": format_time(self.start),
            "video_url": self.link,
        }


class Turn(NamedTuple):
    """A run of passages by one speaker, opened by a speaker label or a caption turn table.

    A named tuple for the same reason as `Passage`.
    """

    index: int
    role: str
    speaker: str
    section: str
    line: int
    passage_indices: tuple[int, ...]
    question: str = ""
    start: float | None = None


@dataclass(frozen=True)
class Section:
    title: str
    line: int
    turn_indices: tuple[int, ...]


@dataclass(frozen=True)
class Transcript:
    """A whole parsed interview; ``intro`` is the editor's voice and never an answer."""

    id: str
    title: str
    video_url: str
    language: str
    host: str
    guest: str
    intro: str
    sections: tuple[Section, ...]
    turns: Sequence[Turn]  # a tuple, or a view of a `bot.packed.RecordTable`
    passages: Sequence[Passage]  # likewise
    source: str = ""

    def turns_by_role(self, role: str) -> list[Turn]:
        return [t for t in self.turns if t.role == role]


@dataclass(frozen=True)
class Hit:
    """One answer: a passage, its score, and a display snippet.

    ``highlights`` are (start, end) spans of matched terms inside ``snippet``; adapters mark
    them their own way (see `bot.snippet.mark`), so the core never escapes for a platform.
    """

    passage: Passage
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()
    matched_terms: tuple[str, ...] = ()
    interview: str = ""
    # The paragraphs after ``passage`` in the same turn that are shown with it: a short
    # paragraph only opens onto what the speaker says next ("第二点则是他如何营造工作氛围…").
    continuation: tuple[Passage, ...] = ()

    @property
    def text(self) -> str:
        """The speaker's words shown: the passage, then its continuation, a paragraph a line."""
        return "\n".join(p.text for p in (self.passage, *self.continuation))

    def to_json(self) -> dict:
        p = self.passage
        return {
            "id": p.id,
            "text": self.text,
            "continued_by": [c.id for c in self.continuation],
            "snippet": self.snippet,
            "speaker": p.speaker,
            "role": p.role,
            "section": p.section,
            "question": p.question,
            "video_url": p.link,
            "start": p.start,
            "interview": self.interview,
            "score": self.score,
        }


@dataclass(frozen=True)
class Answer:
    """The result of a question, one of three kinds:

    * answered — ``hits`` hold the confident answer;
    * closest — the interview does not answer it directly but comes near: ``closest`` holds
      the nearest passages, to be shown as such;
    * not covered — neither; ``suggestions`` name topics the interview does cover.
    """

    query: str
    hits: tuple[Hit, ...] = ()
    suggestions: tuple[str, ...] = field(default_factory=tuple)
    closest: tuple[Hit, ...] = ()

    @property
    def answered(self) -> bool:
        return bool(self.hits)

    @property
    def shown(self) -> tuple[Hit, ...]:
        """What the user sees: the answer, else the closest passages (maybe none)."""
        return self.hits or self.closest

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "answered": self.answered,
            "hits": [h.to_json() for h in self.hits],
            "closest": [h.to_json() for h in self.closest],
        }


__all__ = [
    "EDITOR",
    "ELLIPSIS",
    "GUEST",
    "HOST",
    "MAX_INPUT_CHARS",
    "is_ascii_number",
    "UNKNOWN",
    "Answer",
    "Hit",
    "LibraryError",
    "Message",
    "N_",
    "Passage",
    "QueryError",
    "Section",
    "Transcript",
    "Turn",
    "asdict",
    "format_time",
    "start_of_link",
    "timestamped_url",
]
