"""Parse an interview article (the bundled Chinese transcript format) into a `Transcript`.

The article format, as published by Chinese tech media:

* an editor's introduction (the editor's voice, never the interview's),
* section headings — short lines without closing punctuation, each opening a part,
* speaker turns: ``Q:`` is the host, ``<name>:`` (e.g. ``卡帕西:``) is the guest; a paragraph
  without a label continues the current speaker,
* a ``视频链接:`` line followed by the video URL.

Parsing is all-or-nothing: a problem raises `TranscriptError` naming the file and line, so a
half-parsed interview is never served.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.model import ELLIPSIS, GUEST, HOST, Passage, Section, Transcript, Turn
from bot.text.sentences import full_width_sentence_spans, full_width_sentences

MAX_HEADING_CHARS = 40
# Written as escapes so an editor or formatter that applies NFKC cannot fold the full-width
# forms into their ASCII twins (which once silently broke ``Q\uff1a`` labels).
CLOSING_PUNCTUATION = "\u3002\uff01\uff1f\u2026.!?;\uff1b,\uff0c:\uff1a\u3001"
# Quote marks and brackets that may close a sentence ("…。\u201d") or wrap a heading.
TRAILING_CLOSERS = "\"'\u201d\u2019\u300d\u300f)\uff09]\u3011 "
VIDEO_LINK_LABELS = ("视频链接", "視頻鏈接", "影片連結", "视频地址", "video", "video link")
_VIDEO_LABELS = frozenset(x.casefold() for x in VIDEO_LINK_LABELS)
URL_RE = re.compile(r"https?://\S+")
QUESTION_END = "?\uff1f"
LABEL_RE = re.compile("^([^:\uff1a]{1,24})\\s*[:\uff1a]\\s*(.*)$")
VIDEO_LABEL_RE = re.compile("^([^:\uff1a]{1,16})\\s*[:\uff1a]\\s*(.*)$")


class TranscriptError(ValueError):
    """A transcript that cannot be served; ``str()`` is ``<file>:<line>: <problem>``."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        super().__init__(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")


@dataclass(frozen=True)
class SpeakerLabels:
    """Which line prefixes open a host or a guest turn, and how to name each speaker."""

    host_name: str = "Host"
    guest_name: str = "Guest"
    host_labels: Sequence[str] = ("Q", "问")
    guest_labels: Sequence[str] = ()


@dataclass
class _Builder:
    """Mutable state while walking the lines; frozen into a `Transcript` at the end."""

    labels: SpeakerLabels
    sections: list[tuple[str, int, list[int]]] = field(default_factory=list)
    turns: list[dict] = field(default_factory=list)
    paragraphs: list[tuple[int, str, int]] = field(default_factory=list)  # (turn, text, line)


def read_text(path: Path) -> str:
    """Read a transcript as text: UTF-8 with or without BOM, any newline convention."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TranscriptError(str(path), line, "not valid UTF-8 text") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _clean_line(raw: str) -> str:
    return raw.replace("\u3000", " ").strip()


def _split_label(line: str, labels: SpeakerLabels) -> tuple[str, str] | None:
    """Return (role, rest) when the line opens a turn with a known label and either colon."""
    match = LABEL_RE.match(line)
    if not match:
        return None
    label = unicodedata.normalize("NFKC", match.group(1)).strip()
    rest = match.group(2).strip()
    folded = label.casefold()
    if folded in _folded(tuple(labels.host_labels)):
        return HOST, rest
    if folded in _folded(tuple(labels.guest_labels)):
        return GUEST, rest
    return None


@functools.lru_cache(maxsize=64)
def _folded(labels: tuple[str, ...]) -> frozenset[str]:
    """Case-folded labels, once per set of labels rather than once per line."""
    return frozenset(x.casefold() for x in labels)


MAX_NAME_LABEL_CHARS = 12  # a speaker's name, not the start of a sentence with a colon


def infer_guest_label(text: str, host_labels: Sequence[str]) -> str | None:
    """The guest's label when an article has no metadata: the one recurring ``<name>:``
    other than the host's (``卡帕西:`` in the bundled article), or ``None`` when there is
    none or two labels recur equally often (then only metadata can say)."""
    hosts = {unicodedata.normalize("NFKC", x).strip().casefold() for x in host_labels}
    video = _VIDEO_LABELS
    counts: dict[str, int] = {}
    for raw in text.split("\n"):
        match = LABEL_RE.match(_clean_line(raw))
        if not match:
            continue
        label = unicodedata.normalize("NFKC", match.group(1)).strip()
        folded = label.casefold()
        if (
            not label or len(label) > MAX_NAME_LABEL_CHARS or folded in hosts
            or folded in video or folded in ("http", "https")
            or any(c in CLOSING_PUNCTUATION for c in label)
        ):
            continue
        counts[label] = counts.get(label, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < 2 or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    return ranked[0][0]


def meta_hint(path: str) -> str:
    """How to name the guest when it cannot be inferred: the file and its minimal content."""
    meta_name = Path(path).stem + ".meta.json"
    return (f'create {meta_name} beside it containing {{"guest": {{"labels": ["NAME"]}}}}, '
            "where NAME is the label the guest's lines start with (NAME: ...)")


def _is_heading_shape(line: str) -> bool:
    """Short and not closed like a sentence; ``说:" 好。"`` is a sentence despite its quote."""
    core = line.rstrip(TRAILING_CLOSERS)
    return (
        0 < len(line) <= MAX_HEADING_CHARS
        and bool(core)
        and core[-1] not in CLOSING_PUNCTUATION
        and not URL_RE.search(line)
    )


def _video_label(line: str) -> tuple[bool, str]:
    """Detect a ``视频链接:`` line; return (is_label, url_on_same_line)."""
    match = VIDEO_LABEL_RE.match(line)
    if not match:
        return False, ""
    label = unicodedata.normalize("NFKC", match.group(1)).strip().casefold()
    if label not in _VIDEO_LABELS:
        return False, ""
    return True, match.group(2).strip()


def short_question(text: str, limit: int = 200) -> str:
    """The question(s) a host turn actually asks: its last one or two question sentences.

    Host turns often open with a long preamble (a joke, a bio); showing that as "the question"
    would bury what the guest was answering.
    """
    flat = text.replace("\n", "")
    spans = [(a, b) for a, b in full_width_sentence_spans(flat) if flat[a:b].strip()]
    questions = [i for i, (_, end) in enumerate(spans) if flat[:end].rstrip()[-1] in QUESTION_END]
    if not questions:
        result = flat[spans[-1][0] : spans[-1][1]] if spans else text
    else:
        last = questions[-1]
        first = last - 1 if last - 1 in questions else last
        # Cut from the text, not joined: English keeps its space after "Nick?".
        result = flat[spans[first][0] : spans[last][1]]
    result = result.strip()
    return result if len(result) <= limit else result[: limit - 1] + ELLIPSIS


def asked_question(text: str, limit: int = 200) -> str:
    """`short_question` when ``text`` asks something (a sentence ending in ? or ？), else "":
    a host's "Thank you." is not the question the guest's next words answer."""
    sentences = [s.strip() for s in full_width_sentences(text.replace("\n", "")) if s.strip()]
    if not any(s[-1] in QUESTION_END for s in sentences):
        return ""
    return short_question(text, limit)


def parse_article(
    text: str,
    path: str,
    *,
    transcript_id: str,
    labels: SpeakerLabels,
    title: str | None = None,
    video_url: str | None = None,
    language: str = "zh",
    turn_starts: Sequence[float] | None = None,
    passage_starts: Mapping[int, float] | None = None,
) -> Transcript:
    """Parse article text; ``path`` is only used to name the file in errors.

    ``passage_starts`` maps a paragraph's line number to the second it is said; paragraphs
    without one start at their turn's start.
    """
    if "\x00" in text:
        raise TranscriptError(path, 1 + text[: text.index("\x00")].count("\n"), "binary data")
    raw_lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [(number, _clean_line(raw)) for number, raw in enumerate(raw_lines, start=1)]
    lines = [(n, s) for n, s in lines if s]
    if not lines:
        raise TranscriptError(path, 1, "the file is empty")

    # Cut the video link off the end first: it is metadata, not part of the conversation.
    found_url = ""
    body: list[tuple[int, str]] = []
    index = 0
    while index < len(lines):
        number, line = lines[index]
        is_label, same_line = _video_label(line)
        if is_label:
            candidate = same_line
            if not candidate and index + 1 < len(lines):
                index += 1
                number, candidate = lines[index]
            if not URL_RE.fullmatch(candidate):
                raise TranscriptError(path, number, f"expected a video URL, found {candidate!r}")
            found_url = candidate
        else:
            body.append((number, line))
        index += 1

    builder = _Builder(labels)
    first_heading = _find_first_section(body, labels)
    if first_heading is None:
        raise TranscriptError(
            path,
            body[0][0] if body else lines[0][0],
            "no speaker turns found: expected lines starting with "
            f"{', '.join(repr(x + ':') for x in [*labels.host_labels, *labels.guest_labels])}"
            + ("" if labels.guest_labels else f"; {meta_hint(path)}"),
        )
    intro_lines = [line for _, line in body[:first_heading]]
    heading_title: str | None = None
    for position in range(first_heading, len(body)):
        number, line = body[position]
        split = _split_label(line, labels)
        if split is None and _opens_section(body, position, labels):
            heading_title = line
            builder.sections.append((line, number, []))
            continue
        if split is not None:
            role, rest = split
            if not builder.sections:
                builder.sections.append((heading_title or title or "", number, []))
            builder.turns.append(
                {
                    "role": role,
                    "line": number,
                    "section": builder.sections[-1][0],
                    "section_index": len(builder.sections) - 1,
                    "paras": [],
                }
            )
            builder.sections[-1][2].append(len(builder.turns) - 1)
            if rest:
                builder.turns[-1]["paras"].append((rest, number))
            continue
        if not builder.turns or builder.turns[-1]["section_index"] != len(builder.sections) - 1:
            raise TranscriptError(
                path, number, "paragraph without a speaker: a section must open with 'Q:' or a "
                "guest label"
            )
        if _is_heading_shape(line) and position + 1 < len(body):
            # A heading whose section opens with an unlabelled paragraph: guessing that the
            # previous speaker goes on would put the editor's words in someone's mouth.
            next_number = body[position + 1][0]
            raise TranscriptError(
                path, next_number, f"paragraph without a speaker after the heading {line!r} "
                f"(line {number}): a section must open with 'Q:' or a guest label"
            )
        builder.turns[-1]["paras"].append((line, number))

    for section_title, number, turn_indices in builder.sections:
        if not turn_indices:
            raise TranscriptError(path, number, f"section {section_title!r} has no speaker turns")
    for turn in builder.turns:
        if not turn["paras"]:
            raise TranscriptError(path, turn["line"], "speaker label with no text")
    if not any(turn["role"] == GUEST for turn in builder.turns):
        # Only the host speaks: the guest's label is missing from the metadata, and every
        # "卡帕西:" line would otherwise be quoted as the host's words.
        labels_text = ", ".join(repr(x + ":") for x in labels.guest_labels) or "none configured"
        raise TranscriptError(
            path, builder.turns[0]["line"],
            f"no guest turns: no line starts with a guest label ({labels_text}); "
            + (meta_hint(path) if not labels.guest_labels
               else "set guest.labels in its .meta.json"),
        )

    if turn_starts is not None and len(turn_starts) != len(builder.turns):
        # Point at the first turn the table does not fit: the one without a start, or the
        # last turn when the table has starts to spare.
        position = min(len(turn_starts), len(builder.turns) - 1)
        meta_name = Path(path).stem + ".meta.json"
        raise TranscriptError(
            path, builder.turns[position]["line"],
            f"{meta_name} has {len(turn_starts)} turn_starts but the transcript has "
            f"{len(builder.turns)} turns; they must correspond one to one",
        )
    if passage_starts:
        _check_passage_starts(builder, passage_starts, turn_starts, path)
    url = video_url or found_url
    return _freeze(
        builder,
        path=path,
        transcript_id=transcript_id,
        title=title or _default_title(intro_lines, path),
        video_url=url,
        language=language,
        intro="\n".join(intro_lines),
        turn_starts=turn_starts,
        passage_starts=passage_starts or {},
    )


def _check_passage_starts(
    builder: _Builder,
    passage_starts: Mapping[int, float],
    turn_starts: Sequence[float] | None,
    path: str,
) -> None:
    """Every entry names a paragraph's line, lies inside its turn, and times go forward."""
    meta_name = Path(path).stem + ".meta.json"
    owner: dict[int, int] = {}
    for index, turn in enumerate(builder.turns):
        for _, line in turn["paras"]:
            owner[line] = index
    for line in sorted(passage_starts):
        if line not in owner:
            raise TranscriptError(
                path, line, f"{meta_name} passage_starts names line {line}, which is not a "
                "paragraph of an interview turn"
            )
    for index, turn in enumerate(builder.turns):
        low = turn_starts[index] if turn_starts is not None else 0.0
        high = turn_starts[index + 1] if turn_starts and index + 1 < len(turn_starts) else None
        previous = low
        for _, line in turn["paras"]:
            seconds = passage_starts.get(line)
            if seconds is None:
                continue
            if seconds < previous or (high is not None and seconds >= high):
                bound = f"{previous:g}s" + (f" and before {high:g}s" if high is not None else "")
                raise TranscriptError(
                    path, line, f"{meta_name} passage_starts[\"{line}\"] = {seconds:g}s must "
                    f"be at or after {bound} (its turn's span, in paragraph order)"
                )
            previous = seconds


def _opens_section(body: list[tuple[int, str]], position: int, labels: SpeakerLabels) -> bool:
    """A heading is heading-shaped and directly followed by a labelled turn."""
    line = body[position][1]
    if not _is_heading_shape(line) or position + 1 >= len(body):
        return False
    return _split_label(body[position + 1][1], labels) is not None


def _find_first_section(body: list[tuple[int, str]], labels: SpeakerLabels) -> int | None:
    """Index where the interview proper starts: the first heading, else the first turn."""
    for position, (_, line) in enumerate(body):
        if _split_label(line, labels) is not None:
            if position > 0 and _opens_section(body, position - 1, labels):
                return position - 1
            return position
    return None


def _default_title(intro_lines: list[str], path: str) -> str:
    if intro_lines:
        first = intro_lines[0]
        # Media boilerplate like "今天小编分享的科学经验:" is not part of the title.
        first = re.sub("^今天小编分享的[^:\uff1a]*[:\uff1a]", "", first)
        first = re.sub("[,\uff0c]?\\s*欢迎阅读[\u3002.]?$", "", first)
        return first.strip() or Path(path).stem
    return Path(path).stem


def _freeze(
    builder: _Builder,
    *,
    path: str,
    transcript_id: str,
    title: str,
    video_url: str,
    language: str,
    intro: str,
    turn_starts: Sequence[float] | None,
    passage_starts: Mapping[int, float],
) -> Transcript:
    labels = builder.labels
    passages: list[Passage] = []
    turns: list[Turn] = []
    last_host_text = ""
    for turn_index, turn in enumerate(builder.turns):
        role = turn["role"]
        speaker = labels.host_name if role == HOST else labels.guest_name
        turn_text = "\n".join(text for text, _ in turn["paras"])
        if role == HOST:
            last_host_text = turn_text
            question = short_question(turn_text)  # the question it asks, once per turn
        else:
            question = short_question(last_host_text) if last_host_text else ""
        start = float(turn_starts[turn_index]) if turn_starts is not None else None
        indices = []
        for text, line in turn["paras"]:
            indices.append(len(passages))
            passages.append(
                Passage(
                    id=f"{transcript_id}/p{len(passages)}",
                    transcript_id=transcript_id,
                    index=len(passages),
                    text=text,
                    role=role,
                    speaker=speaker,
                    section=turn["section"],
                    turn=turn_index,
                    question=question,
                    video_url=video_url,
                    start=passage_starts.get(line, start),
                    line=line,
                    language=language,
                )
            )
        turns.append(
            Turn(
                index=turn_index,
                role=role,
                speaker=speaker,
                section=turn["section"],
                line=turn["line"],
                passage_indices=tuple(indices),
                question=question,
                start=start,
            )
        )
    sections = tuple(
        Section(title=t, line=n, turn_indices=tuple(idx)) for t, n, idx in builder.sections
    )
    return Transcript(
        id=transcript_id,
        title=title,
        video_url=video_url,
        language=language,
        host=labels.host_name,
        guest=labels.guest_name,
        intro=intro,
        sections=sections,
        turns=tuple(turns),
        passages=tuple(passages),
        source=path,
    )
