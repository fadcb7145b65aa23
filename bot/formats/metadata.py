"""Per-transcript metadata, kept beside the transcript as ``<name>.meta.json``.

The transcript text says *what* was said; the metadata says what the text cannot: display
names, which labels mark host and guest, the video URL when the text lacks one, the terms
the segmenter must keep whole, English glosses for cross-language questions, the second
each turn starts in the video, (``passage_starts``) the second individual paragraphs
start, keyed by the paragraph's line number in the transcript, (``aliases``) the
nicknames people use for its speakers and names (``{"老马": "马斯克"}``), and (``speakers``)
whether a name used in captions (a WebVTT ``<v Name>`` tag or a ``Name:`` label) is the host
or guest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.formats.article import SpeakerLabels, TranscriptError

META_SUFFIX = ".meta.json"


@dataclass(frozen=True)
class TranscriptMeta:
    id: str
    title: str | None = None
    language: str = "zh"
    format: str | None = None
    host_name: str = "Host"
    guest_name: str = "Guest"
    host_labels: tuple[str, ...] = ("Q", "问")
    guest_labels: tuple[str, ...] = ()
    video_url: str | None = None
    terms: tuple[str, ...] = ()
    glossary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    turn_starts: tuple[float, ...] | None = None
    turns: tuple[tuple[float, str], ...] | None = None
    passage_starts: dict[int, float] | None = None
    aliases: dict[str, str] = field(default_factory=dict)  # nickname → the transcript's word
    speakers: dict[str, str] = field(default_factory=dict)  # caption name → host/guest

    @property
    def speaker_roles(self) -> dict[str, str]:
        """Caption speaker names and labels → host/guest: the host and guest labels and
        names, then the ``speakers`` table, which wins."""
        roles: dict[str, str] = {}
        for role, name, labels in (
            ("host", self.host_name, self.host_labels),
            ("guest", self.guest_name, self.guest_labels),
        ):
            for key in (*labels, name):
                roles[key.casefold()] = role
        roles.update((k.casefold(), v) for k, v in self.speakers.items())
        return roles

    @property
    def labels(self) -> SpeakerLabels:
        return SpeakerLabels(
            host_name=self.host_name,
            guest_name=self.guest_name,
            host_labels=self.host_labels,
            guest_labels=self.guest_labels,
        )


def meta_path_for(transcript: Path) -> Path:
    """``talk.zh.txt`` → ``talk.zh.meta.json``: the metadata sits beside its transcript."""
    return transcript.with_name(transcript.stem + META_SUFFIX)


def default_id(transcript: Path) -> str:
    return transcript.stem.split(".")[0]


def load_meta(transcript: Path) -> TranscriptMeta:
    """Load the metadata beside ``transcript``; a transcript without one gets defaults."""
    path = meta_path_for(transcript)
    if not path.exists():
        return TranscriptMeta(id=default_id(transcript))
    try:
        text = path.read_text(encoding="utf-8-sig")
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(str(path), exc.lineno, f"invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(str(path), 0, f"cannot read metadata: {exc}") from None
    if not isinstance(raw, dict):
        raise TranscriptError(str(path), 1, "metadata must be a JSON object")
    return parse_meta(raw, path, default_id(transcript), source=text)


def _line_of_key(source: str, key: str) -> int:
    """The line where ``"key":`` is written, so an operator can jump to the bad value."""
    match = re.search(rf'"{re.escape(key)}"\s*:', source)
    return source[: match.start()].count("\n") + 1 if match else 0


def _is_list_of_text(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value)


def parse_meta(raw: dict, path: Path, fallback_id: str, source: str = "") -> TranscriptMeta:
    """Validate a metadata object; ``source`` (the file's text) lets errors name a line."""

    def problem(message: str, key: str = "") -> TranscriptError:
        return TranscriptError(str(path), _line_of_key(source, key) if key else 0, message)

    host = raw.get("host") or {}
    guest = raw.get("guest") or {}
    if not isinstance(host, dict) or not isinstance(guest, dict):
        raise problem(
            "'host' and 'guest' must be objects like {\"name\": ..., \"labels\": [...]}",
            "host" if not isinstance(host, dict) else "guest",
        )
    for role, value in (("host", host), ("guest", guest)):
        labels = value.get("labels")
        if labels is not None and not _is_list_of_text(labels):
            # A bare string would silently become one label per character.
            raise problem(f"'{role}.labels' must be a list like [\"Q\"]", role)
    if raw.get("terms") is not None and not _is_list_of_text(raw["terms"]):
        raise problem("'terms' must be a list of words", "terms")
    turn_starts = raw.get("turn_starts")
    if turn_starts is not None:
        if not isinstance(turn_starts, list) or not all(
            isinstance(x, (int, float)) and x >= 0 for x in turn_starts
        ):
            raise problem("'turn_starts' must be a list of seconds", "turn_starts")
        turn_starts = tuple(float(x) for x in turn_starts)
    turns = raw.get("turns")
    if turns is not None:
        try:
            turns = tuple(sorted((float(t["start"]), str(t["speaker"])) for t in turns))
        except (TypeError, KeyError, ValueError):
            raise problem("'turns' must be a list of {\"start\": seconds, \"speaker\": "
                          "\"host\"|\"guest\"}", "turns") from None
        if any(role not in ("host", "guest") for _, role in turns):
            raise problem("a turn's 'speaker' must be \"host\" or \"guest\"", "turns")
    passage_starts = raw.get("passage_starts")
    if passage_starts is not None:
        if not isinstance(passage_starts, dict) or not all(
            isinstance(k, str) and k.isdigit() and int(k) > 0
            and isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
            for k, v in passage_starts.items()
        ):
            raise problem("'passage_starts' must map a paragraph's line number to seconds, "
                          "like {\"17\": 104.9}", "passage_starts")
        passage_starts = {int(k): float(v) for k, v in passage_starts.items()}
    aliases = raw.get("aliases") or {}
    if not isinstance(aliases, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip()
        for k, v in aliases.items()
    ):
        raise problem("'aliases' must map nicknames to the transcript's words, like "
                      "{\"老马\": \"马斯克\"}", "aliases")
    speakers = raw.get("speakers") or {}
    if not isinstance(speakers, dict) or not all(
        isinstance(k, str) and k.strip() and v in ("host", "guest") for k, v in speakers.items()
    ):
        raise problem("'speakers' must map a caption speaker name to \"host\" or \"guest\", "
                      "like {\"Stephanie Zhan\": \"host\"}", "speakers")
    glossary = raw.get("glossary") or {}
    if not isinstance(glossary, dict):
        raise problem("'glossary' must map English words to lists of transcript terms",
                      "glossary")
    return TranscriptMeta(
        id=str(raw.get("id") or fallback_id),
        title=raw.get("title"),
        language=str(raw.get("language") or "zh"),
        format=raw.get("format"),
        host_name=str(host.get("name") or "Host"),
        guest_name=str(guest.get("name") or "Guest"),
        host_labels=tuple(host.get("labels") or ("Q", "问")),
        guest_labels=tuple(guest.get("labels") or ()),
        video_url=raw.get("video_url"),
        terms=tuple(str(t) for t in raw.get("terms") or ()),
        glossary={
            str(k).casefold(): tuple(v) if isinstance(v, list) else (str(v),)
            for k, v in glossary.items()
        },
        turn_starts=turn_starts,
        turns=turns,
        passage_starts=passage_starts,
        aliases={k.strip(): v.strip() for k, v in aliases.items()},
        speakers={k.strip(): v for k, v in speakers.items()},
    )
