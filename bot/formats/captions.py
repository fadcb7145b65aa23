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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.model import GUEST, HOST, UNKNOWN, is_ascii_number
from bot.text.sentences import sentence_spans

log = logging.getLogger(__name__)

__all__ = [
    "CaptionError",
    "CaptionPassage",
    "Cue",
    "detect_format",
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


@dataclass(frozen=True)
class CaptionPassage:
    """A few whole sentences by one speaker; ``start`` is where the first sentence begins."""

    start: float
    end: float
    text: str
    speaker_role: str
    line: int


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
    dropped, and a cue that only repeats the previous one's tail vanishes entirely.
    """
    ordered = sorted(raw_cues, key=lambda c: c.start)  # stable: equal starts keep file order
    cues: list[Cue] = []
    previous_lines: list[str] = []
    previous_text = ""
    for raw in ordered:
        lines = [cleaned for cleaned in (_clean_line(x) for x in raw.lines) if cleaned]
        if not lines:
            continue
        overlap = _leading_overlap(previous_lines, lines)
        text = " ".join(lines[overlap:])
        if not text or previous_text == text or previous_text.endswith(" " + text):
            log.debug("%s:%d: dropped cue repeating the previous one", path, raw.line)
            continue
        cues.append(Cue(raw.start, raw.end, text, raw.line))
        previous_lines, previous_text = lines, " ".join(lines)
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

    Cue settings after the end time (``align:start position:0%``) are ignored, and voice,
    class and inline-timestamp tags are stripped, so the speaker name from ``<v Name>`` is
    not kept: roles come from the operator's turn table, never from guesses.
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
    return (
        "\u3400" <= char <= "\u9fff"
        or "\u3000" <= char <= "\u303f"
        or "\uff00" <= char <= "\uffef"
    )


def _join_cues(cues: Sequence[Cue]) -> tuple[str, list[int]]:
    """Running text of ``cues`` and the offset where each cue's text begins in it.

    Chinese lines are joined without a space, since a space there would be a spurious word
    boundary; everything else with one.
    """
    parts: list[str] = []
    offsets: list[int] = []
    length = 0
    for cue in cues:
        if parts:
            joiner = "" if _is_cjk(parts[-1][-1]) and _is_cjk(cue.text[0]) else " "
            parts.append(joiner)
            length += len(joiner)
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


def _role_runs(
    cues: Sequence[Cue], turns: Sequence[tuple[float, str]] | None, tolerance: float
) -> list[tuple[str, list[Cue]]]:
    """Consecutive cues grouped by the speaker role the turn table gives them."""
    if turns is None:
        return [(UNKNOWN, list(cues))] if cues else []
    starts = [start for start, _ in turns]
    runs: list[tuple[str, list[Cue]]] = []
    for cue in cues:
        index = bisect.bisect_right(starts, cue.start + tolerance) - 1
        role = turns[index][1] if index >= 0 else UNKNOWN
        if runs and runs[-1][0] == role:
            runs[-1][1].append(cue)
        else:
            runs.append((role, [cue]))
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
) -> list[CaptionPassage]:
    """Group caption lines into passages of whole sentences, never across a speaker change.

    ``turns`` is the operator's turn table, ``(start_seconds, role)`` sorted by time. A cue
    belongs to the last turn starting at or before it; hand-made tables are rounded (587.9
    for a cue at 587.88), so a turn may start up to ``turn_tolerance`` seconds after its first
    cue. Cues before the first turn, and all cues when there is no table, are ``unknown``:
    the guest is never guessed.

    Raises:
        ValueError: the size limits are inconsistent or the turn table is unsorted or names
            a role other than host/guest.
    """
    if not 1 <= min_sentences <= max_sentences or max_chars < 1:
        raise ValueError("need 1 <= min_sentences <= max_sentences and max_chars >= 1")
    if turns is not None:
        _check_turns(turns)
    passages: list[CaptionPassage] = []
    for role, run in _role_runs(sorted(cues, key=lambda c: c.start), turns, turn_tolerance):
        sentences = _sentences(run)
        blocks = _question_blocks(sentences) if turns is None else [sentences]
        for block in blocks:
            for group in _partition(block, min_sentences, max_sentences, max_chars):
                passages.append(_passage(group, role))
    return passages


def _passage(group: Sequence[_Sentence], role: str) -> CaptionPassage:
    text = group[0].text
    for sentence in group[1:]:
        joiner = "" if _is_cjk(text[-1]) and _is_cjk(sentence.text[0]) else " "
        text += joiner + sentence.text
    return CaptionPassage(
        start=group[0].start,
        end=max(s.end for s in group),
        text=text,
        speaker_role=role,
        line=group[0].line,
    )
