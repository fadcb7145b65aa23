"""Timed transcripts (Whisper text, SubRip, WebVTT) turned into quotable passages.

Operators often only have an interview as subtitles. Caption lines break mid-sentence at
arbitrary points, so they are useless as search results or quotes on their own; this module
reads the common caption formats into :class:`Cue` objects and then re-joins them into
passages of whole sentences that keep the time at which they were said, so an answer can link
to the moment in the video.

Parsing is strict about structure (a broken timestamp is reported with file and line rather
than silently shifting every later time) but forgiving about the things real caption files
do: byte-order marks, CRLF, empty cues, ``[APPLAUSE]``-style cues and YouTube's rolling,
overlapping auto-captions.
"""

from __future__ import annotations

import bisect
import html
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.model import GUEST, HOST, UNKNOWN, is_ascii_number
from bot.text.sentences import sentence_spans

log = logging.getLogger(__name__)

__all__ = [
    "CaptionError",
    "CaptionPassage",
    "Cue",
    "detect_format",
    "join_text",
    "merge_into_passages",
    "parse_srt",
    "parse_vtt",
    "parse_whisper",
    "read_captions",
]


@dataclass(frozen=True)
class Cue:
    """One caption: ``line`` is the 1-based source line of its timing line, for error reports
    and for pointing an operator back at the file."""

    start: float
    end: float
    text: str
    line: int
    voice: str | None = None  # the name of a WebVTT ``<v Name>`` tag, as written


@dataclass(frozen=True)
class CaptionPassage:
    """A few whole sentences by one speaker; ``start`` is where the first sentence begins.

    ``speaker`` is the name the captions give (a ``<v Name>`` tag or a ``Name:`` label), empty
    when they give none; ``speaker_role`` is host, guest or unknown."""

    start: float
    end: float
    text: str
    speaker_role: str
    line: int
    speaker: str = ""


class CaptionError(ValueError):
    """A caption file that cannot be read faithfully; names the file and line to fix."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}")


# --------------------------------------------------------------------------- timestamps

# Hours are optional (short Whisper/VTT files write ``MM:SS.mmm``); SubRip uses a comma before
# the milliseconds, the others a dot. Exactly three fraction digits, as all three formats do.
_TIMESTAMP = r"(?:\d+:)?\d{1,2}:\d{1,2}[.,]\d{3}"
_TIMESTAMP_PARTS = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})[.,](\d{3})$")
_ARROW = "-->"


def _seconds(stamp: str, path: str, line: int) -> float:
    match = _TIMESTAMP_PARTS.match(stamp.strip())
    if not match:
        raise CaptionError(path, line, f"malformed timestamp {stamp.strip()!r}")
    hours, minutes, seconds, millis = match.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        raise CaptionError(path, line, f"malformed timestamp {stamp.strip()!r} (field over 59)")
    whole = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return (whole * 1000 + int(millis)) / 1000  # one rounding, so 5.560 stays 5.56


def _timing(start: str, end: str, path: str, line: int) -> tuple[float, float]:
    begin, finish = _seconds(start, path, line), _seconds(end, path, line)
    if finish < begin:
        raise CaptionError(
            path, line, f"cue ends ({end.strip()}) before it starts ({start.strip()})"
        )
    return begin, finish


# --------------------------------------------------------------------------- cleaning

_TAG = re.compile(r"<[^>\n]*>")  # <c>, <v Speaker>, <i>, <00:00:01.000>, <font color=...>
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")  # {\an8} positioning codes some SRT files carry
# A whole line that only describes sound, e.g. "[MUSIC PLAYING]", "(audience applauding)",
# "♪ ♪", or several of those in a row.
_NON_SPEECH = re.compile(r"^(?:\s*(?:\[[^\]]*\]|\([^)]*\)|[♪♫]+))+\s*$")
_SPEAKER_CHEVRONS = re.compile(r"^\s*>>\s*")  # YouTube's "speaker changed" marker
_SPACES = re.compile(r"\s+")
# A WebVTT voice span opening a line: <v Name> or <v.class Name> (annotation up to the '>').
_VOICE = re.compile(r"^\s*<v(?:\.[^\s>]*)?[ \t]+([^>\n]+)>")


def _voice_of(raw: str) -> str | None:
    match = _VOICE.match(raw)
    if not match:
        return None
    name = html.unescape(match.group(1)).strip()
    return name or None


def _clean_line(raw: str) -> str:
    """Visible spoken text of one caption line; empty when the line is markup or a sound."""
    text = html.unescape(_ASS_OVERRIDE.sub("", _TAG.sub("", raw)))
    text = _SPACES.sub(" ", text.replace("\u00a0", " ")).strip()
    text = _SPEAKER_CHEVRONS.sub("", text)
    if not text or _NON_SPEECH.match(text):
        return ""
    return text


@dataclass
class _RawCue:
    start: float
    end: float
    lines: list[str]
    line: int


def _finish(raw_cues: Iterable[_RawCue], path: str) -> list[Cue]:
    """Shared tail of every parser: clean, order by start, drop sounds and rolling repeats.

    YouTube auto-captions show each line twice (once as it is spoken, then again as the top
    line of the next cue), so leading lines that repeat the previous cue's last lines are
    dropped, and a cue that only repeats the previous one's tail vanishes entirely. A cue
    whose lines carry different ``<v Name>`` voices becomes one cue per voice, same times.
    """
    ordered = sorted(raw_cues, key=lambda c: c.start)  # stable: equal starts keep file order
    cues: list[Cue] = []
    previous_lines: list[str] = []
    previous_text = ""
    for raw in ordered:
        voiced: list[tuple[str | None, str]] = []
        voice: str | None = None
        for line in raw.lines:
            voice = _voice_of(line) or voice  # a voice span runs to the end of the cue
            cleaned = _clean_line(line)
            if cleaned:
                voiced.append((voice, cleaned))
        lines = [text for _, text in voiced]
        if not lines:
            continue
        overlap = _leading_overlap(previous_lines, lines)
        text = join_text(lines[overlap:])
        repeats_tail = previous_text.endswith(" " + text) or any(
            text == join_text(previous_lines[i:]) for i in range(1, len(previous_lines))
        )
        if not text or previous_text == text or repeats_tail:
            log.debug("%s:%d: dropped cue repeating the previous one", path, raw.line)
            continue
        groups: list[tuple[str | None, list[str]]] = []
        for voice, line in voiced[overlap:]:
            if groups and groups[-1][0] == voice:
                groups[-1][1].append(line)
            else:
                groups.append((voice, [line]))
        for voice, group in groups:
            cues.append(Cue(raw.start, raw.end, join_text(group), raw.line, voice))
        previous_lines, previous_text = lines, join_text(lines)
    return cues


def _leading_overlap(previous: Sequence[str], current: Sequence[str]) -> int:
    """How many leading lines of ``current`` repeat the last lines of ``previous``."""
    for size in range(min(len(previous), len(current)), 0, -1):
        if list(previous[-size:]) == list(current[:size]):
            return size
    return 0


def _lines(text: str) -> list[str]:
    """Lines without a BOM; only CR/LF split, so line numbers match what editors show."""
    return re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))


# --------------------------------------------------------------------------- parsers

_WHISPER_LINE = re.compile(rf"^\[\s*(\S+)\s*{_ARROW}\s*(\S+)\s*\](.*)$")


def parse_whisper(text: str, path: str) -> list[Cue]:
    """Whisper's ``[HH:MM:SS.mmm --> HH:MM:SS.mmm]   text`` lines (hours optional).

    Blank lines are allowed; any other line that is not a cue is an error, because skipping
    it would silently lose words.
    """
    raw_cues: list[_RawCue] = []
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        match = _WHISPER_LINE.match(line.strip())
        if not match:
            raise CaptionError(path, number, "expected '[start --> end] text'")
        start, end = _timing(match.group(1), match.group(2), path, number)
        raw_cues.append(_RawCue(start, end, [match.group(3)], number))
    return _finish(raw_cues, path)


_TIMING_LINE = re.compile(rf"^\s*(\S+)\s+{_ARROW}\s+(\S+)(.*)$")


def _blocks(lines: list[str], *, strict: bool) -> list[tuple[int, list[str]]]:
    """Blocks as (1-based first line, lines), separated by empty lines.

    ``strict`` (WebVTT) separates only on truly empty lines, as the format says: YouTube puts
    whitespace-only lines inside cues. SubRip files are often hand-edited, so there a line
    of spaces separates too.
    """
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        content = line if strict else line.strip()
        if content:
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _cue_block(first: int, block: list[str], path: str, *, timing_at: int) -> _RawCue:
    """A block whose timing line is ``block[timing_at]``, followed by text lines."""
    number = first + timing_at
    match = _TIMING_LINE.match(block[timing_at])
    if not match:
        raise CaptionError(path, number, f"malformed timing line {block[timing_at].strip()!r}")
    start, end = _timing(match.group(1), match.group(2), path, number)
    text_lines = block[timing_at + 1 :]
    if not text_lines:
        raise CaptionError(path, number, "cue has no text")
    for offset, extra in enumerate(text_lines, start=number + 1):
        if _ARROW in extra and _TIMING_LINE.match(extra):
            raise CaptionError(path, offset, "timing line inside a cue (missing blank line?)")
    return _RawCue(start, end, text_lines, number)


def parse_srt(text: str, path: str) -> list[Cue]:
    """SubRip: blocks of an optional cue number, ``start --> end`` and text lines."""
    raw_cues: list[_RawCue] = []
    for first, block in _blocks(_lines(text), strict=False):
        if _ARROW in block[0]:
            timing_at = 0
        elif is_ascii_number(block[0].strip()) and len(block) > 1:
            timing_at = 1
        else:
            raise CaptionError(path, first, "expected a cue number or 'start --> end' line")
        raw_cues.append(_cue_block(first, block, path, timing_at=timing_at))
    return _finish(raw_cues, path)


_VTT_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_VTT_SKIPPED_BLOCKS = re.compile(r"^(?:NOTE|STYLE|REGION)(?:[ \t].*)?$")


def parse_vtt(text: str, path: str) -> list[Cue]:
    """WebVTT: header, then cues with optional identifiers; NOTE/STYLE/REGION blocks skipped.

    Cue settings after the end time (``align:start position:0%``) are ignored, and class and
    inline-timestamp tags are stripped; the name of a ``<v Name>`` voice tag is kept as the
    cue's ``voice`` (mapped to host or guest later, through the metadata).
    """
    lines = _lines(text)
    if not lines or not _VTT_HEADER.match(lines[0].rstrip()):
        raise CaptionError(path, 1, "missing 'WEBVTT' header")
    header, *blocks = _blocks(lines, strict=True)  # the header runs until the first blank line
    for offset, header_line in enumerate(header[1][1:], start=2):
        if _ARROW in header_line:
            raise CaptionError(path, offset, "cue inside the header (missing blank line?)")
    raw_cues: list[_RawCue] = []
    for first, block in blocks:
        if _VTT_SKIPPED_BLOCKS.match(block[0].rstrip()) and _ARROW not in block[0]:
            continue
        if _ARROW in block[0]:
            timing_at = 0
        elif len(block) > 1 and _ARROW in block[1]:
            timing_at = 1
        else:
            raise CaptionError(path, first, "expected a cue identifier or 'start --> end' line")
        raw_cues.append(_cue_block(first, block, path, timing_at=timing_at))
    return _finish(raw_cues, path)


# --------------------------------------------------------------------------- detection

_WHISPER_SNIFF = re.compile(rf"^\[\s*{_TIMESTAMP}\s*{_ARROW}")
_SRT_SNIFF = re.compile(rf"^\s*{_TIMESTAMP}\s+{_ARROW}\s+{_TIMESTAMP}")

FORMATS = ("whisper", "srt", "vtt", "article")


def detect_format(path: Path, text: str) -> str:
    """One of ``whisper``, ``srt``, ``vtt`` or ``article``.

    A WebVTT header or Whisper line decides (a ``.txt`` can hold either); then the
    ``.srt``/``.vtt`` suffix, so a broken subtitle file is reported as a broken subtitle file
    instead of being indexed as prose; then a SubRip-looking start.
    """
    lines = [line for line in _lines(text)[:50] if line.strip()]
    if lines and _VTT_HEADER.match(lines[0].strip()):
        return "vtt"
    if lines and _WHISPER_SNIFF.match(lines[0].strip()):
        return "whisper"
    suffix = Path(path).suffix.lower()
    if suffix in (".srt", ".vtt"):
        return suffix[1:]
    if lines and (
        _SRT_SNIFF.match(lines[0])
        or (len(lines) > 1 and is_ascii_number(lines[0].strip()) and _SRT_SNIFF.match(lines[1]))
    ):
        return "srt"
    return "article"


_PARSERS = {"whisper": parse_whisper, "srt": parse_srt, "vtt": parse_vtt}


def read_captions(path: Path) -> list[Cue]:
    """Read and parse a caption file of any supported format.

    Raises:
        CaptionError: the file is not UTF-8, is not a caption file, or is malformed.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CaptionError(path, line, "not valid UTF-8 text") from exc
    kind = detect_format(path, text)
    if kind not in _PARSERS:
        raise CaptionError(path, 1, "not a caption file (expected Whisper, SubRip or WebVTT)")
    cues = _PARSERS[kind](text, str(path))
    log.info("%s: %d %s cues", path, len(cues), kind)
    return cues


# --------------------------------------------------------------------------- sentences

# --------------------------------------------------------------------------- passages

@dataclass(frozen=True)
class _Sentence:
    text: str
    start: float
    end: float
    line: int

    @property
    def asks(self) -> bool:
        return self.text.rstrip("\"'”’)]」』）").endswith(("?", "？"))


def _is_cjk(char: str) -> bool:
    """Chinese or Japanese script or punctuation: text written without spaces between words.
    (Hangul is not included: Korean puts spaces between words.)"""
    return (
        "\u3400" <= char <= "\u9fff"  # CJK ideographs (and extension A)
        or "\u3000" <= char <= "\u30ff"  # CJK punctuation, hiragana, katakana
        or "\u31f0" <= char <= "\u31ff"  # katakana extensions
        or "\uf900" <= char <= "\ufaff"  # compatibility ideographs
        or "\uff00" <= char <= "\uffef"  # full-width forms
        or "\U00020000" <= char <= "\U0003134f"  # ideograph extensions B–H
    )


# Punctuation that may end a Chinese clause in captions typed on an ASCII keyboard.
_ASCII_CLAUSE_END = ",.!?;:)]\"'"


def joiner(left: str, right: str) -> str:
    """What goes between two pieces of caption text: nothing between Chinese or Japanese
    ones (更有效率, + 但是 → 更有效率,但是), a space otherwise."""
    if not left or not right:
        return ""
    last = left.rstrip(_ASCII_CLAUSE_END)[-1:] or left[-1]
    return "" if _is_cjk(last) and _is_cjk(right[0]) else " "


def join_text(pieces: Iterable[str]) -> str:
    text = ""
    for piece in pieces:
        text += joiner(text, piece) + piece
    return text


def _join_cues(cues: Sequence[Cue]) -> tuple[str, list[int]]:
    """Running text of ``cues`` and the offset where each cue's text begins in it, joined as
    `joiner` says (a space between Chinese cues would be a spurious word boundary)."""
    parts: list[str] = []
    offsets: list[int] = []
    length = 0
    for cue in cues:
        if parts:
            between = joiner(parts[-1], cue.text)
            parts.append(between)
            length += len(between)
        offsets.append(length)
        parts.append(cue.text)
        length += len(cue.text)
    return "".join(parts), offsets


def _sentences(cues: Sequence[Cue]) -> list[_Sentence]:
    text, offsets = _join_cues(cues)
    sentences = []
    for start, end in sentence_spans(text):
        first = bisect.bisect_right(offsets, start) - 1
        last = bisect.bisect_right(offsets, end - 1) - 1
        sentences.append(
            _Sentence(text[start:end], cues[first].start, cues[last].end, cues[first].line)
        )
    return sentences


# A speaker label opening a caption line, as in the article format: "Q: …", "卡帕西:…".
_LABEL = re.compile(r"^\s*([^\s:：<>]{1,40})\s*[:：]\s*")


def _labelled(cue: Cue, speakers: Mapping[str, str]) -> Cue:
    """``cue`` with a known speaker label (a key of ``speakers``) moved from its text to its
    voice; any other text before a colon ("Note: …", "https://…") is left as said."""
    if cue.voice is not None:
        return cue
    match = _LABEL.match(cue.text)
    if not match or match.group(1).casefold() not in speakers or not cue.text[match.end():]:
        return cue
    return replace(cue, text=cue.text[match.end():], voice=match.group(1))


def _speaker_runs(
    cues: Sequence[Cue],
    turns: Sequence[tuple[float, str]] | None,
    speakers: Mapping[str, str],
    tolerance: float,
) -> list[tuple[str, str, list[Cue]]]:
    """Consecutive cues grouped by (role, speaker name).

    A voice tag or label names the speaker of its cue and of the untagged cues after it (as a
    label opens a turn in the article format); ``speakers`` maps the name (case-folded) to
    host or guest, and a name it does not know is kept with the role ``unknown``. Cues before
    any name follow the turn table, and without one are ``unknown``.
    """
    starts = [start for start, _ in turns] if turns is not None else []
    runs: list[tuple[str, str, list[Cue]]] = []
    named: tuple[str, str] | None = None
    for cue in cues:
        if cue.voice:
            named = (speakers.get(cue.voice.casefold(), UNKNOWN), cue.voice)
        if named is not None:
            role, speaker = named
        elif turns is not None:
            index = bisect.bisect_right(starts, cue.start + tolerance) - 1
            role, speaker = (turns[index][1] if index >= 0 else UNKNOWN), ""
        else:
            role, speaker = UNKNOWN, ""
        if runs and runs[-1][:2] == (role, speaker):
            runs[-1][2].append(cue)
        else:
            runs.append((role, speaker, [cue]))
    return runs


def _check_turns(turns: Sequence[tuple[float, str]]) -> None:
    previous = float("-inf")
    for position, (start, role) in enumerate(turns):
        if role not in (HOST, GUEST):
            raise ValueError(f"turn {position}: role {role!r} is not 'host' or 'guest'")
        if start < previous:
            raise ValueError(f"turn {position}: start {start} is before the previous turn's")
        previous = start


def _question_blocks(sentences: list[_Sentence]) -> list[list[_Sentence]]:
    """Split where a run of questions is followed by a statement.

    Without a turn table that is the likeliest place the speaker changed (the host asks, the
    guest answers), so the guest's answer is not glued to the host's question in one quote.
    """
    blocks: list[list[_Sentence]] = []
    for sentence in sentences:
        if blocks and blocks[-1][-1].asks and not sentence.asks:
            blocks.append([sentence])
        elif blocks:
            blocks[-1].append(sentence)
        else:
            blocks.append([sentence])
    return blocks


def _partition(
    sentences: Sequence[_Sentence], min_sentences: int, max_sentences: int, max_chars: int
) -> list[list[_Sentence]]:
    """Cut ``sentences`` into consecutive groups close to the middle of the allowed size.

    A small dynamic programme rather than greedy packing, so seven sentences become 4 + 3
    and not 5 + 2, and six become 3 + 3 rather than 5 + a lone sentence: each group costs 1
    (fewer, fuller passages) plus its squared distance from the middle of
    [``min_sentences``, ``max_sentences``]. Groups never exceed ``max_sentences`` or
    ``max_chars`` unless a single sentence is longer than ``max_chars`` on its own; they fall
    below ``min_sentences`` only when the block or the character limit leaves no choice.
    """
    count = len(sentences)
    target = (min_sentences + max_sentences) / 2
    best: list[float] = [0.0] + [float("inf")] * count
    cut: list[int] = [0] * (count + 1)
    for end in range(1, count + 1):
        chars = -1
        for size in range(1, min(max_sentences, end) + 1):
            chars += len(sentences[end - size].text) + 1
            if size > 1 and chars > max_chars:
                break
            cost = best[end - size] + 1 + (size - target) ** 2 / 4
            if cost < best[end]:
                best[end], cut[end] = cost, end - size
    groups: list[list[_Sentence]] = []
    end = count
    while end > 0:
        groups.append(list(sentences[cut[end] : end]))
        end = cut[end]
    return groups[::-1]


def merge_into_passages(
    cues: Sequence[Cue],
    turns: list[tuple[float, str]] | None,
    *,
    min_sentences: int = 2,
    max_sentences: int = 5,
    max_chars: int = 600,
    turn_tolerance: float = 0.5,
    speakers: Mapping[str, str] | None = None,
) -> list[CaptionPassage]:
    """Group caption lines into passages of whole sentences, never across a speaker change.

    Who speaks comes first from the captions themselves: WebVTT ``<v Name>`` voice tags and
    speaker labels (``Q: …``), mapped to host or guest by ``speakers`` (case-folded name or
    label → role; a label counts only when it is a key there). Otherwise ``turns``, the
    operator's turn table, ``(start_seconds, role)`` sorted by time: a cue belongs to the last
    turn starting at or before it; hand-made tables are rounded (587.9 for a cue at 587.88),
    so a turn may start up to ``turn_tolerance`` seconds after its first cue. Cues before the
    first turn, and all cues when there is neither, are ``unknown``: the guest is never
    guessed.

    Raises:
        ValueError: the size limits are inconsistent or the turn table is unsorted or names
            a role other than host/guest.
    """
    if not 1 <= min_sentences <= max_sentences or max_chars < 1:
        raise ValueError("need 1 <= min_sentences <= max_sentences and max_chars >= 1")
    if turns is not None:
        _check_turns(turns)
    speakers = {name.casefold(): role for name, role in (speakers or {}).items()}
    ordered = [_labelled(c, speakers) for c in sorted(cues, key=lambda c: c.start)]
    passages: list[CaptionPassage] = []
    for role, speaker, run in _speaker_runs(ordered, turns, speakers, turn_tolerance):
        sentences = _sentences(run)
        # Nothing says who speaks: split where questions give way to an answer.
        anonymous = turns is None and not speaker
        blocks = _question_blocks(sentences) if anonymous else [sentences]
        for block in blocks:
            for group in _partition(block, min_sentences, max_sentences, max_chars):
                passages.append(_passage(group, role, speaker))
    return passages


def _passage(group: Sequence[_Sentence], role: str, speaker: str) -> CaptionPassage:
    return CaptionPassage(
        start=group[0].start,
        end=max(s.end for s in group),
        text=join_text(s.text for s in group),
        speaker_role=role,
        line=group[0].line,
        speaker=speaker,
    )
