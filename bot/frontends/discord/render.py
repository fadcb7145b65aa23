"""Turn answers, topics and saved quotes into Discord messages (text and embeds).

Pure functions with no network access: every string that comes from a transcript or from a
user is Markdown-escaped here and every message is fitted to Discord's limits here, so the
command handlers only decide *what* to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import discord

from bot.frontends.discord import limits
from bot.library import Library
from bot.model import Answer, Hit, Transcript, format_time, start_of_link
from bot.quotes.store import StoredQuote
from bot.search.snippet import mark
from bot.topics import SECTION_KEY_SEP, TopicSection, TopicTranscript

ACCENT = discord.Colour.blurple()
QUOTE_COLOUR = discord.Colour.gold()
CHOICE_INTERVIEW_CHARS = 40  # room left for the section title in "Interview › Section"
LISTED_INTERVIEWS = 20

HELP_LINES = (
    ("/ask question [results] [interview]",
     "Ask about the interviews; the answer is the speaker's own words."),
    ("/topics [section]", "What the interviews cover; pick a section to see its questions."),
    ("/quote add text", "Save exact words from the interview to this server's collection."),
    ("/quote list [page]", "Saved quotes, newest first, 10 per page."),
    ("/quote random", "A random saved quote."),
    ("/quote show number", "One saved quote in full."),
    ("/quote search text", "Saved quotes containing some words."),
    ("/quote remove number", "Remove a quote you saved (moderators: any quote)."),
    ("/reload", "Reload the interviews from the data folder (Manage Server only)."),
    ("/help", "This list."),
)


class AnswerMessage(TypedDict):
    """The parts of an /ask reply, as ``reply`` and ``edit_message`` take them."""

    content: str
    embeds: list[discord.Embed]


def escape(text: str | None) -> str:
    """Source text shown literally: ``*``, ``_``, ``|``, `` ` `` etc. lose their Markdown power."""
    return discord.utils.escape_markdown(text or "")


def blockquote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines() or [""])


def marked_snippet(hit: Hit) -> str:
    """The snippet escaped for Markdown with the matched terms in bold."""
    spans = getattr(hit, "highlights", ()) or ()
    return mark(hit.snippet, spans, escape=escape)


def video_line(link: str, start: float | None) -> str:
    """``[▶ 12:34](link)``; just the time when there is no link; empty when neither is known."""
    when = format_time(start)
    if link:
        return f"[▶ {when or 'Watch'}]({link})"
    return when


CLOSEST = "The interview doesn't answer this directly; the closest passage:"


def hit_embed(hit: Hit, number: int) -> discord.Embed:
    passage = hit.passage
    embed = discord.Embed(description=blockquote(marked_snippet(hit)), colour=ACCENT)
    embed.set_author(name=passage.speaker or "Unknown speaker")
    if passage.question:
        embed.add_field(name="Question", value=escape(passage.question), inline=False)
    if passage.section:
        embed.add_field(name="Section", value=escape(passage.section), inline=True)
    video = video_line(passage.link, passage.start)
    if video:
        embed.add_field(name="Video", value=video, inline=True)
    if hit.interview:
        embed.add_field(
            name="Interview", value=limits.truncate(escape(hit.interview), 300), inline=False
        )
    embed.set_footer(text=f"Result {number}")
    return embed


def answer_message(
    answer: Answer, offset: int = 0, scope: str = "", interviews: int = 1
) -> AnswerMessage:
    """``content`` and ``embeds`` for an /ask reply (or the next page of it); ``scope`` is the
    title of the one interview searched, when the question was restricted to it, and
    ``interviews`` how many the library holds (to say what was searched)."""
    question = limits.truncate(escape(answer.query), 300)
    if not answer.shown:
        return {"content": not_covered_text(answer, offset, scope, interviews), "embeds": []}
    embeds = [hit_embed(hit, offset + i + 1) for i, hit in enumerate(answer.shown)]
    content = f"**Q:** {question}"
    if not answer.answered:
        content += f"\n{CLOSEST}"
    if scope:
        content += f"\nIn: *{limits.truncate(escape(scope), 300)}*"
    return {
        "content": limits.fit_content(content),
        "embeds": limits.fit_embeds(embeds),
    }


def not_covered_text(
    answer: Answer, offset: int = 0, scope: str = "", interviews: int = 1
) -> str:
    question = limits.truncate(escape(answer.query), 300)
    if offset:
        return limits.fit_content(f"No more answers to “{question}”.")
    if scope:
        lines = [f"“{limits.truncate(escape(scope), 300)}” doesn't cover “{question}”."]
    elif interviews > 1:
        lines = [f"None of the {interviews} interviews covers “{question}”."]
    else:
        lines = [f"The interview doesn't cover “{question}”."]
    if answer.suggestions:
        lines.append("It does talk about:")
        lines.extend(f"• {limits.truncate(escape(s), 200)}" for s in answer.suggestions[:3])
    lines.append("Use `/topics` to see everything it covers.")
    return limits.fit_content("\n".join(lines))


# ---- topics ---------------------------------------------------------------------------------


def _section_summary(section: TopicSection) -> str:
    keywords = ", ".join(escape(k) for k in list(section.keywords)[:8])
    lines = [f"*{keywords}*"] if keywords else []
    lines.extend(f"• {escape(q.short)}" for q in section.questions)
    return limits.truncate("\n".join(lines) or "—", limits.FIELD_VALUE)


def topics_embeds(topics: Sequence[TopicTranscript]) -> list[discord.Embed]:
    """A table of contents per interview: each section with its questions and keywords."""
    embeds = []
    for topic in topics[: limits.EMBEDS_PER_MESSAGE]:
        embed = discord.Embed(
            title=escape(topic.title), url=topic.video_url or None, colour=ACCENT
        )
        sections = list(topic.sections)
        shown = sections[: limits.EMBED_FIELDS - 1] if len(sections) > 25 else sections
        for section in shown:
            embed.add_field(
                name=escape(section.title), value=_section_summary(section), inline=False
            )
        if len(shown) < len(sections):
            embed.add_field(name="…", value=f"and {len(sections) - len(shown)} more sections")
        embed.set_footer(text="Pick a section: /topics section:<name>")
        embeds.append(embed)
    return limits.fit_embeds(embeds)


def _passage_count(topic: TopicTranscript) -> int:
    return sum(section.passages for section in topic.sections)


def interviews_text(topics: Sequence[TopicTranscript]) -> str:
    """The list of interviews that heads /topics when the library holds several; lines that
    do not fit in one message are counted, never cut, so the closing hint always shows."""
    head = f"**{len(topics)} interviews** — ask about one with `/ask interview:`"
    tail = (
        f"Sections of the first {limits.EMBEDS_PER_MESSAGE} below; find any section with "
        "`/topics section:`"
        if len(topics) > limits.EMBEDS_PER_MESSAGE else ""
    )
    room = limits.CONTENT - len(head) - len(tail) - 40
    lines: list[str] = []
    for number, topic in enumerate(topics[:LISTED_INTERVIEWS], start=1):
        guest = f" · {limits.truncate(escape(topic.guest), 60)}" if topic.guest else ""
        line = (
            f"{number}. {limits.truncate(escape(topic.title), 150)}{guest} "
            f"({len(topic.sections)} sections)"
        )
        if sum(len(x) + 1 for x in lines) + len(line) > room:
            break
        lines.append(line)
    if len(lines) < len(topics):
        lines.append(f"… and {len(topics) - len(lines)} more")
    return limits.fit_content("\n".join([head, *lines, *([tail] if tail else [])]))


def library_embeds(topics: Sequence[TopicTranscript]) -> list[discord.Embed]:
    """One compact embed per interview (up to 10): a line per section with its keywords.

    The 6000 characters of a message are shared out evenly; sections that do not fit are
    counted rather than cut mid-line, and each embed points to ``/topics section:``.
    """
    shown = list(topics[: limits.EMBEDS_PER_MESSAGE])
    budget = limits.EMBED_TOTAL // max(1, len(shown))
    embeds = []
    for topic in shown:
        title = limits.truncate(escape(topic.title), limits.EMBED_TITLE)
        footer = (
            f"{len(topic.sections)} sections · {_passage_count(topic)} passages · "
            "/topics section:<name>"
        )
        room = min(limits.EMBED_DESCRIPTION, budget - len(title) - len(footer)) - 40
        lines: list[str] = []
        used = 0
        for index, section in enumerate(topic.sections):
            keywords = ", ".join(escape(k) for k in list(section.keywords)[:4])
            line = f"• **{limits.truncate(escape(section.title), 120)}**"
            if keywords:
                line += f" — *{keywords}*"
            if used + len(line) + 1 > room:
                lines.append(f"… and {len(topic.sections) - index} more sections")
                break
            lines.append(line)
            used += len(line) + 1
        embed = discord.Embed(
            title=title,
            url=topic.video_url or None,
            description="\n".join(lines) or "—",
            colour=ACCENT,
        )
        embed.set_footer(text=footer)
        embeds.append(embed)
    return limits.fit_embeds(embeds)


def section_choice_name(topic: TopicTranscript, section: TopicSection, several: bool) -> str:
    """``Interview › Section`` when the library has several interviews, else the section."""
    if not several:
        return section.title
    return f"{limits.truncate(topic.title, CHOICE_INTERVIEW_CHARS)} › {section.title}"


def section_choices(
    topics: Sequence[TopicTranscript], current: str
) -> list[discord.app_commands.Choice[str]]:
    """Sections matching what is typed (in their title or their interview's title).

    With one interview the value is the title itself; with several it is a key naming the
    interview and the section's position, since titles may repeat across interviews and
    Discord caps values at 100 characters.
    """
    wanted = current.strip().casefold()
    several = len(topics) > 1
    pairs: list[tuple[str, str]] = []
    for topic in topics:
        for index, section in enumerate(topic.sections):
            if wanted and wanted not in section.title.casefold() and (
                not several or wanted not in topic.title.casefold()
            ):
                continue
            key = f"{topic.id}{SECTION_KEY_SEP}{index}"
            value = key if several and len(key) <= limits.CHOICE_VALUE else section.title
            pairs.append((section_choice_name(topic, section, several), value))
    return limits.fit_choices(list(dict.fromkeys(pairs)))


def interview_choices(
    transcripts: Sequence[Transcript], current: str
) -> list[discord.app_commands.Choice[str]]:
    """Interviews whose title or id contains what is typed; the value is the id, which the
    core needs (ids longer than a choice value allows cannot be offered)."""
    wanted = current.strip().casefold()
    pairs = [
        (t.title or t.id, t.id)
        for t in transcripts
        if len(t.id) <= limits.CHOICE_VALUE
        and (not wanted or wanted in t.title.casefold() or wanted in t.id.casefold())
    ]
    return limits.fit_choices(pairs)


def section_embed(topic: TopicTranscript, section: TopicSection) -> discord.Embed:
    """One section: each host question with the first line of the answer and its moment."""
    embed = discord.Embed(title=escape(section.title), url=topic.video_url or None, colour=ACCENT)
    for question in list(section.questions)[: limits.EMBED_FIELDS]:
        answer = limits.truncate(escape(question.first_answer_line), 700)
        video = video_line(question.link, question.start)
        value = f"> {answer}" + (f"\n{video}" if video else "")
        embed.add_field(name=escape(question.full or question.short), value=value, inline=False)
    if not section.questions:
        embed.description = "No host questions in this section."
    if section.keywords:
        embed.set_footer(text="Keywords: " + ", ".join(section.keywords))
    embed.set_author(name=topic.title)
    return limits.fit_embed(embed)


# ---- reloading ------------------------------------------------------------------------------


def one_line(text: str, limit: int = 600) -> str:
    """The first line of an error, escaped and short enough for a reply."""
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else "unknown error"
    return limits.truncate(escape(first), limit)


def library_lines(library: Library) -> list[str]:
    lines = []
    for transcript in list(library.transcripts)[:LISTED_INTERVIEWS]:
        lines.append(
            f"• {limits.truncate(escape(transcript.title), 150)} — "
            f"{len(transcript.passages)} passages (`{transcript.id}`)"
        )
    if len(library.transcripts) > LISTED_INTERVIEWS:
        lines.append(f"… and {len(library.transcripts) - LISTED_INTERVIEWS} more")
    return lines


def _interviews(count: int) -> str:
    return f"{count} interview" + ("" if count == 1 else "s")


def reload_text(library: Library) -> str:
    """What /reload installed."""
    head = (
        f"Reloaded: {_interviews(len(library.transcripts))}, "
        f"{len(library.passages)} passages."
    )
    return limits.fit_content("\n".join([head, *library_lines(library)]))


def reload_failed_text(problem: str, library: Library) -> str:
    """Why /reload failed, and that the previous library is still the one answering."""
    return limits.fit_content(
        f"Reload failed, nothing changed: {problem}\n"
        f"Still serving the previous library ({_interviews(len(library.transcripts))}, "
        f"{len(library.passages)} passages). Fix the file and run `/reload` again."
    )


# ---- quotes ---------------------------------------------------------------------------------


def timestamp(quote: StoredQuote) -> str:
    return f"<t:{int(quote.saved_at.timestamp())}:R>"


def quote_line(quote: StoredQuote, width: int = 250) -> str:
    text = limits.truncate(escape(quote.text), width)
    video = video_line(quote.link, start_of_link(quote.link))
    return (
        f"**#{quote.number}** “{text}” — {escape(quote.speaker)}"
        + (f" · {video}" if video else "")
        + f"\n  saved by {escape(quote.saved_by_name)} {timestamp(quote)}"
    )


def quote_embed(quote: StoredQuote, title: str | None = None) -> discord.Embed:
    embed = discord.Embed(
        title=title or f"Quote #{quote.number}",
        description=blockquote(escape(quote.text)),
        colour=QUOTE_COLOUR,
        url=quote.link or None,
    )
    embed.set_author(name=quote.speaker or "Unknown speaker")
    if quote.section:
        embed.add_field(name="Section", value=escape(quote.section), inline=True)
    embed.add_field(
        name="Saved by", value=f"{escape(quote.saved_by_name)} {timestamp(quote)}", inline=True
    )
    if quote.link:
        embed.add_field(
            name="Video", value=video_line(quote.link, start_of_link(quote.link)), inline=True
        )
    return limits.fit_embed(embed)


def quote_list_embed(title: str, quotes: Sequence[StoredQuote], footer: str = "") -> discord.Embed:
    lines = [quote_line(q) for q in quotes]
    embed = discord.Embed(title=title, description="\n".join(lines), colour=QUOTE_COLOUR)
    if footer:
        embed.set_footer(text=footer)
    return limits.fit_embed(embed)


def help_embed() -> discord.Embed:
    embed = discord.Embed(
        title="Interview Quote Bot",
        description="Answers questions about the interview with the speaker's exact words.",
        colour=ACCENT,
    )
    for usage, what in HELP_LINES:
        embed.add_field(name=usage, value=what, inline=False)
    return limits.fit_embed(embed)
