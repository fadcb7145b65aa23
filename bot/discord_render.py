"""Turn answers, topics and saved quotes into Discord messages (text and embeds).

Pure functions with no network access: every string that comes from a transcript or from a
user is Markdown-escaped here and every message is fitted to Discord's limits here, so the
command handlers only decide *what* to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from bot import discord_limits as limits
from bot.model import Answer, Hit, format_time
from bot.snippet import mark

ACCENT = discord.Colour.blurple()
QUOTE_COLOUR = discord.Colour.gold()

HELP_LINES = (
    ("/ask question [results]", "Ask about the interview; the answer is the speaker's own words."),
    ("/topics [section]", "What the interview covers; pick a section to see its questions."),
    ("/quote add text", "Save exact words from the interview to this server's collection."),
    ("/quote list [page]", "Saved quotes, newest first, 10 per page."),
    ("/quote random", "A random saved quote."),
    ("/quote show number", "One saved quote in full."),
    ("/quote search text", "Saved quotes containing some words."),
    ("/quote remove number", "Remove a quote you saved (moderators: any quote)."),
    ("/help", "This list."),
)


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
    embed.set_footer(text=f"Result {number}")
    return embed


def answer_message(answer: Answer, offset: int = 0) -> dict[str, Any]:
    """``content`` and ``embeds`` for an /ask reply (or the next page of it)."""
    question = limits.truncate(escape(answer.query), 300)
    if not answer.answered:
        return {"content": not_covered_text(answer, offset), "embeds": []}
    embeds = [hit_embed(hit, offset + i + 1) for i, hit in enumerate(answer.hits)]
    return {
        "content": limits.fit_content(f"**Q:** {question}"),
        "embeds": limits.fit_embeds(embeds),
    }


def not_covered_text(answer: Answer, offset: int = 0) -> str:
    question = limits.truncate(escape(answer.query), 300)
    if offset:
        return limits.fit_content(f"No more answers to “{question}”.")
    lines = [f"The interview doesn't cover “{question}”."]
    if answer.suggestions:
        lines.append("It does talk about:")
        lines.extend(f"• {limits.truncate(escape(s), 200)}" for s in answer.suggestions[:3])
    lines.append("Use `/topics` to see everything it covers.")
    return limits.fit_content("\n".join(lines))


# ---- topics ---------------------------------------------------------------------------------


def _section_summary(section: Any) -> str:
    keywords = ", ".join(escape(k) for k in list(section.keywords)[:8])
    lines = [f"*{keywords}*"] if keywords else []
    lines.extend(f"• {escape(q.short)}" for q in section.questions)
    return limits.truncate("\n".join(lines) or "—", limits.FIELD_VALUE)


def topics_embeds(topics: Sequence[Any]) -> list[discord.Embed]:
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


def section_embed(topic: Any, section: Any) -> discord.Embed:
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


# ---- quotes ---------------------------------------------------------------------------------


def timestamp(quote: Any) -> str:
    return f"<t:{int(quote.saved_at.timestamp())}:R>"


def quote_line(quote: Any, width: int = 250) -> str:
    text = limits.truncate(escape(quote.text), width)
    return (
        f"**#{quote.number}** “{text}” — {escape(quote.speaker)}\n"
        f"  saved by {escape(quote.saved_by_name)} {timestamp(quote)}"
    )


def quote_embed(quote: Any, title: str | None = None) -> discord.Embed:
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
        embed.add_field(name="Video", value=f"[▶ Watch]({quote.link})", inline=True)
    return limits.fit_embed(embed)


def quote_list_embed(title: str, quotes: Sequence[Any], footer: str = "") -> discord.Embed:
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
