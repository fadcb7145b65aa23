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
from bot.formats.metaschema import MAX_META_BYTES, MetadataProblem, parse_json, validate

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
        with path.open("rb") as handle:
            data = handle.read(MAX_META_BYTES + 1)  # never read a huge file whole
    except OSError as exc:
        raise TranscriptError(str(path), 0, f"cannot read metadata: {exc.strerror or exc}") \
            from None
    return parse_meta_bytes(data, path, default_id(transcript))


def parse_meta_bytes(data: bytes, path: Path, fallback_id: str) -> TranscriptMeta:
    """Decode, bound and validate a metadata file's bytes (see `bot.formats.metaschema`)."""
    try:
        raw = parse_json(data)
    except json.JSONDecodeError as exc:
        raise TranscriptError(str(path), exc.lineno, f"invalid JSON: {exc.msg}") from None
    except MetadataProblem as exc:
        raise TranscriptError(str(path), 0, str(exc)) from None
    if not isinstance(raw, dict):
        raise TranscriptError(str(path), 1, "metadata must be a JSON object")
    return parse_meta(raw, path, fallback_id, source=data.decode("utf-8-sig"))


def _line_of_key(source: str, key: str) -> int:
    """The line where ``"key":`` is written, so an operator can jump to the bad value."""
    match = re.search(rf'"{re.escape(key)}"\s*:', source)
    return source[: match.start()].count("\n") + 1 if match else 0


def parse_meta(raw: dict, path: Path, fallback_id: str, source: str = "") -> TranscriptMeta:
    """Validate a metadata object against `bot.formats.metaschema.SCHEMA`; errors name the file,
    the line of the key (when ``source``, the file's text, is given) and the key path."""
    try:
        validate(raw)
    except MetadataProblem as exc:
        line = _line_of_key(source, exc.line_key) if exc.line_key else 0
        raise TranscriptError(str(path), line, str(exc)) from None
    host = raw.get("host") or {}
    guest = raw.get("guest") or {}
    turns = raw.get("turns")
    turn_starts = raw.get("turn_starts")
    passage_starts = raw.get("passage_starts")
    return TranscriptMeta(
        id=raw.get("id") or fallback_id,
        title=raw.get("title"),
        language=raw.get("language") or "zh",
        format=raw.get("format"),
        host_name=host.get("name") or "Host",
        guest_name=guest.get("name") or "Guest",
        host_labels=tuple(host.get("labels") or ("Q", "问")),
        guest_labels=tuple(guest.get("labels") or ()),
        video_url=raw.get("video_url"),
        terms=tuple(raw.get("terms") or ()),
        glossary={k.casefold(): tuple(v) for k, v in (raw.get("glossary") or {}).items()},
        turn_starts=tuple(float(x) for x in turn_starts) if turn_starts is not None else None,
        turns=tuple((float(t["start"]), t["speaker"]) for t in turns) if turns else None,
        passage_starts=(
            {int(k): float(v) for k, v in passage_starts.items()}
            if passage_starts is not None else None
        ),
        aliases={k.strip(): v.strip() for k, v in (raw.get("aliases") or {}).items()},
        speakers={k.strip(): v for k, v in (raw.get("speakers") or {}).items()},
    )
