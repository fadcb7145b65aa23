"""A data dir of interviews: which files are transcripts, and how each becomes a `Transcript`.

Articles go through `bot.transcript`; Whisper, SubRip and WebVTT captions through
`bot.captions`, then into passages and turns here. Every parser error surfaces as a
`TranscriptError` naming the file and line, so a data dir loads whole or not at all.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import platformdirs

from bot.formats.article import (
    TranscriptError,
    asked_question,
    infer_guest_label,
    parse_article,
    read_text,
)
from bot.formats.captions import (
    CaptionError,
    CaptionPassage,
    detect_format,
    merge_into_passages,
    read_captions,
)
from bot.formats.metadata import META_SUFFIX, TranscriptMeta, load_meta
from bot.model import GUEST, HOST, Passage, Section, Transcript, Turn

TRANSCRIPT_SUFFIXES = (".txt", ".srt", ".vtt")
APP_NAME = "interview-quote-bot"


def default_data_dir() -> Path:
    """The bundled interviews: ``data/`` of a checkout, else the copy installed with the package."""
    package = Path(__file__).resolve().parent.parent  # bot/
    checkout = package.parent / "data"
    if any(checkout.glob("*.meta.json")):
        return checkout
    return package / "_data"


def user_data_dir() -> Path:
    """Where ``quotebot ingest --add`` puts interviews when no data dir is named: the user's
    data directory, never the installed package (a reinstall would lose them)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "interviews"


def default_data_dirs() -> list[Path]:
    """What is served when no data dir is named: the bundled interview plus the user's."""
    user = user_data_dir()
    return [default_data_dir(), *([user] if user.is_dir() else [])]


def is_transcript_name(name: str) -> bool:
    """Whether the loader reads a file of this name (dot-files and other suffixes are not)."""
    return (
        Path(name).suffix.lower() in TRANSCRIPT_SUFFIXES
        and not name.endswith(META_SUFFIX) and not name.startswith(".")
    )


def transcript_files(data_dir: Path) -> list[Path]:
    """The transcripts of one folder; sub-folders (the cache, an add's staging) are skipped."""
    return sorted(p for p in data_dir.iterdir() if is_transcript_name(p.name) and p.is_file())


def load_transcript(path: Path, meta: TranscriptMeta | None = None) -> Transcript:
    """Parse one transcript of any supported format, with the metadata beside it."""
    path = Path(path)
    meta = meta or load_meta(path)
    text = read_text(path)
    kind = meta.format or detect_format(path, text)
    if kind == "article":
        labels = meta.labels
        if not labels.guest_labels:
            # No metadata (or none naming the guest): the recurring "<name>:" is the guest.
            guessed = infer_guest_label(text, labels.host_labels)
            if guessed is not None:
                name = labels.guest_name if labels.guest_name != "Guest" else guessed
                labels = replace(labels, guest_labels=(guessed,), guest_name=name)
        return parse_article(
            text,
            str(path),
            transcript_id=meta.id,
            labels=labels,
            title=meta.title,
            video_url=meta.video_url,
            language=meta.language,
            turn_starts=meta.turn_starts,
            passage_starts=meta.passage_starts,
        )
    try:
        cues = read_captions(path)
        merged = merge_into_passages(
            cues, list(meta.turns) if meta.turns else None, speakers=meta.speaker_roles
        )
    except CaptionError as exc:
        raise TranscriptError(exc.path, exc.line, getattr(exc, "problem", str(exc))) from None
    except ValueError as exc:
        raise TranscriptError(str(path), 0, str(exc)) from None
    if not merged:
        raise TranscriptError(str(path), 0, "no speech found in the captions")
    return _caption_transcript(path, meta, merged)


def _caption_transcript(
    path: Path, meta: TranscriptMeta, merged: list[CaptionPassage]
) -> Transcript:
    """Captions have no headings: one section; a turn per change of speaker.

    A host turn's question is what it asks (empty when it asks nothing, so no empty or
    non-question line is shown as a question); the guest's passages carry the question of
    the host turn before them.
    """
    title = meta.title or path.stem.split(".")[0]
    names = {HOST: meta.host_name, GUEST: meta.guest_name}
    groups: list[list[CaptionPassage]] = []
    for item in merged:
        if groups and (groups[-1][0].speaker_role, groups[-1][0].speaker) == (
            item.speaker_role, item.speaker
        ):
            groups[-1].append(item)
        else:
            groups.append([item])
    passages: list[Passage] = []
    turns: list[Turn] = []
    last_question = ""
    for group in groups:
        role = group[0].speaker_role
        speaker = names.get(role) or group[0].speaker or "unknown speaker"
        if role == HOST:
            last_question = asked_question(" ".join(item.text for item in group))
            question = last_question
        else:
            question = last_question if role == GUEST else ""
        first = len(passages)
        for item in group:
            passages.append(
                Passage(
                    id=f"{meta.id}/p{len(passages)}",
                    transcript_id=meta.id,
                    index=len(passages),
                    text=item.text,
                    role=role,
                    speaker=speaker,
                    section=title,
                    turn=len(turns),
                    question=question,
                    video_url=meta.video_url or "",
                    start=item.start,
                    line=item.line,
                    language=meta.language,
                )
            )
        turns.append(
            Turn(len(turns), role, speaker, title, group[0].line,
                 tuple(range(first, len(passages))), question, group[0].start)
        )
    section = Section(title, turns[0].line, tuple(range(len(turns))))
    return Transcript(
        id=meta.id, title=title, video_url=meta.video_url or "", language=meta.language,
        host=meta.host_name, guest=meta.guest_name, intro="", sections=(section,),
        turns=tuple(turns), passages=tuple(passages), source=str(path),
    )
