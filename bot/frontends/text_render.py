"""Plain-text rendering of answers, topics and quotes, for the terminal (CLI and console).

Labels come from the reader's catalog ``t`` (`bot.frontends.i18n`); transcript text is shown
as written."""

from __future__ import annotations

from collections.abc import Sequence

from bot.frontends.i18n import Translations
from bot.model import HOST, N_, Answer, Hit, Transcript, format_time
from bot.search.snippet import mark
from bot.topics import TopicSection, TopicTranscript, numbered_sections

NOT_COVERED = N_("The interview does not cover that.")
CLOSEST = N_("The interview doesn't answer this directly; the closest passage:")


def render_hit(t: Translations, hit: Hit, number: int | None = None) -> str:
    p = hit.passage
    # A paragraph shown after a short one (`Hit.continuation`) starts a line of its own.
    quote = mark(hit.snippet, hit.highlights, before="【", after="】").replace("\n", "\n   ")
    where = " · ".join(x for x in (p.speaker, p.section, format_time(p.start)) if x)
    lines = [f"{number}. " if number else ""]
    lines[0] += f"「{quote}」"
    lines.append(f"   — {where}")
    if hit.interview:
        lines.append("   " + t.gettext("Interview: {interview}").format(interview=hit.interview))
    if p.question:
        lines.append("   " + t.gettext("Q: {question}").format(question=p.question))
    if p.link:
        lines.append(f"   ▶ {p.link}")
    return "\n".join(lines)


def render_answer(t: Translations, answer: Answer, *, first_number: int = 1) -> str:
    """The answer; else the closest passages, said to be such; else what is covered."""
    shown = answer.shown
    if not shown:
        text = t.gettext(NOT_COVERED)
        if answer.suggestions:
            text += "\n" + t.gettext("It does cover: {topics}").format(
                topics="; ".join(answer.suggestions)
            )
        return text
    numbered = len(shown) > 1
    body = "\n\n".join(
        render_hit(t, hit, first_number + i if numbered else None)
        for i, hit in enumerate(shown)
    )
    if answer.answered:
        return body
    return f"{t.gettext(CLOSEST)}\n{body}"


def render_topics(topics: list[TopicTranscript], section: TopicSection | None = None) -> str:
    """The table of contents, sections numbered across interviews (see `numbered_sections`);
    with ``section``, only that one, with the first line of each answer."""
    numbers = {id(s): n for n, _, s in numbered_sections(topics)}
    out: list[str] = []
    for transcript in topics:
        if section is not None and not any(s is section for s in transcript.sections):
            continue
        out.append(f"# {transcript.title}")
        if transcript.video_url:
            out.append(f"▶ {transcript.video_url}")
        for s in transcript.sections:
            if section is not None and s is not section:
                continue
            out.append(f"\n{numbers[id(s)]}. {s.title}  ({', '.join(s.keywords)})")
            for q in s.questions:
                time = f"[{format_time(q.start)}] " if q.start is not None else ""
                out.append(f"   - {time}{q.short}")
                if section is not None and q.first_answer_line:
                    out.append(f"     {transcript.guest}: {q.first_answer_line}")
        out.append("")
    return "\n".join(out).rstrip()


def render_export(t: Translations, transcripts: Sequence[Transcript]) -> str:
    """Every passage, interview by interview and section by section, with its link."""
    out: list[str] = []
    for transcript in transcripts:
        out.append(f"# {transcript.title}  [{transcript.id}]")
        if transcript.video_url:
            out.append(f"▶ {transcript.video_url}")
        section = None
        for p in transcript.passages:
            if p.section != section:
                section = p.section
                out.append(f"\n## {section}")
            time = f"[{format_time(p.start)}] " if p.start is not None else ""
            out.append(f"\n{p.id}  {time}{p.speaker} ({p.role})")
            if p.question and p.role != HOST:  # a host passage is the question itself
                out.append("   " + t.gettext("Q: {question}").format(question=p.question))
            out.append(f"   {p.text}")
            if p.link:
                out.append(f"   ▶ {p.link}")
        out.append("")
    return "\n".join(out).rstrip()
