"""Turn answers, topics and saved quotes into Discord messages (text and embeds).

Pure functions with no network access: every string that comes from a transcript or from a
user is Markdown-escaped here and every message is fitted to Discord's limits here, so the
command handlers only decide *what* to say. Labels come from the reader's catalog ``t``
(`bot.frontends.i18n`); transcript text is shown as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import discord

from bot.frontends.discord import limits
from bot.frontends.i18n import Translations, command
from bot.library import Library
from bot.model import N_, Answer, Hit, Transcript, format_time, start_of_link
from bot.quotes.store import StoredQuote
from bot.search.snippet import mark
from bot.topics import SECTION_KEY_SEP, TopicSection, TopicTranscript

ACCENT = discord.Colour.blurple()
QUOTE_COLOUR = discord.Colour.gold()
CHOICE_INTERVIEW_CHARS = 40  # room left for the section title in "Interview › Section"
LISTED_INTERVIEWS = 20

# (command, its options (optional ones in brackets), what it does): names are catalog entries
HELP_LINES = (
    ("ask", ("question", "[results]", "[interview]"),
     N_("Ask about the interviews; the answer is the speaker's own words.")),
    ("topics", ("[section]",),
     N_("What the interviews cover; pick a section to see its questions.")),
    ("quote add", ("text",),
     N_("Save exact words from the interview to this server's collection.")),
    ("quote list", ("[page]",), N_("Saved quotes, newest first, 10 per page.")),
    ("quote random", (), N_("A random saved quote.")),
    ("quote show", ("number",), N_("One saved quote in full.")),
    ("quote search", ("text",), N_("Saved quotes containing some words.")),
    ("quote remove", ("number",), N_("Remove a quote you saved (moderators: any quote).")),
    ("reload", (), N_("Reload the interviews from the data folder (Manage Server only).")),
    ("help", (), N_("This list.")),
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


CLOSEST = N_("The interview doesn't answer this directly; the closest passage:")


def video_line(t: Translations, link: str, start: float | None) -> str:
    """``[▶ 12:34](link)``; just the time when there is no link; empty when neither is known."""
    when = format_time(start) or ""
    if link:
        label = when or t.gettext("Watch")
        return f"[▶ {label}]({link})"
    return when


def hit_embed(t: Translations, hit: Hit, number: int) -> discord.Embed:
    _ = t.gettext
    passage = hit.passage
    embed = discord.Embed(description=blockquote(marked_snippet(hit)), colour=ACCENT)
    embed.set_author(name=passage.speaker or _("Unknown speaker"))
    if passage.question:
        embed.add_field(name=_("Question"), value=escape(passage.question), inline=False)
    if passage.section:
        embed.add_field(name=_("Section"), value=escape(passage.section), inline=True)
    video = video_line(t, passage.link, passage.start)
    if video:
        embed.add_field(name=_("Video"), value=video, inline=True)
    if hit.interview:
        embed.add_field(
            name=_("Interview"), value=limits.truncate(escape(hit.interview), 300), inline=False
        )
    embed.set_footer(text=_("Result {number}").format(number=number))
    return embed


def answer_message(
    t: Translations, answer: Answer, offset: int = 0, scope: str = "", interviews: int = 1
) -> AnswerMessage:
    """``content`` and ``embeds`` for an /ask reply (or the next page of it); ``scope`` is the
    title of the one interview searched, when the question was restricted to it, and
    ``interviews`` how many the library holds (to say what was searched)."""
    question = limits.truncate(escape(answer.query), 300)
    if not answer.shown:
        return {"content": not_covered_text(t, answer, offset, scope, interviews), "embeds": []}
    embeds = [hit_embed(t, hit, offset + i + 1) for i, hit in enumerate(answer.shown)]
    content = t.gettext("**Q:** {question}").format(question=question)
    if not answer.answered:
        content += "\n" + t.gettext(CLOSEST)
    if scope:
        scope_text = limits.truncate(escape(scope), 300)
        content += "\n" + t.gettext("In: *{interview}*").format(interview=scope_text)
    return {
        "content": limits.fit_content(content),
        "embeds": limits.fit_embeds(embeds),
    }


def not_covered_text(
    t: Translations, answer: Answer, offset: int = 0, scope: str = "", interviews: int = 1
) -> str:
    _ = t.gettext
    question = limits.truncate(escape(answer.query), 300)
    if offset:
        return limits.fit_content(_("No more answers to “{question}”.").format(question=question))
    if scope:
        lines = [_("“{interview}” doesn't cover “{question}”.").format(
            interview=limits.truncate(escape(scope), 300), question=question)]
    elif interviews > 1:
        lines = [t.ngettext(
            "None of the {count} interview covers “{question}”.",
            "None of the {count} interviews covers “{question}”.",
            interviews,
        ).format(count=interviews, question=question)]
    else:
        lines = [_("The interview doesn't cover “{question}”.").format(question=question)]
    if answer.suggestions:
        lines.append(_("It does talk about:"))
        lines.extend(f"• {limits.truncate(escape(s), 200)}" for s in answer.suggestions[:3])
    lines.append(
        _("Use `{topics}` to see everything it covers.").format(topics=command(t, "topics"))
    )
    return limits.fit_content("\n".join(lines))


# ---- topics ---------------------------------------------------------------------------------


def _section_summary(section: TopicSection) -> str:
    keywords = ", ".join(escape(k) for k in list(section.keywords)[:8])
    lines = [f"*{keywords}*"] if keywords else []
    lines.extend(f"• {escape(q.short)}" for q in section.questions)
    return limits.truncate("\n".join(lines) or "—", limits.FIELD_VALUE)


def topics_embeds(t: Translations, topics: Sequence[TopicTranscript]) -> list[discord.Embed]:
    """A table of contents per interview: each section with its questions and keywords."""
    _ = t.gettext
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
            more = len(sections) - len(shown)
            embed.add_field(name="…", value=t.ngettext(
                "and {count} more section", "and {count} more sections", more
            ).format(count=more))
        embed.set_footer(text=_("Pick a section: {command}").format(command=section_usage(t)))
        embeds.append(embed)
    return limits.fit_embeds(embeds)


def _passage_count(topic: TopicTranscript) -> int:
    return sum(section.passages for section in topic.sections)


def section_usage(t: Translations) -> str:
    """``/topics section:<name>`` in the reader's language."""
    return t.gettext("{topics} {section}:<name>").format(
        topics=command(t, "topics"), section=t.gettext("section")
    )


def interviews_text(t: Translations, topics: Sequence[TopicTranscript]) -> str:
    """The list of interviews that heads /topics when the library holds several; lines that
    do not fit in one message are counted, never cut, so the closing hint always shows."""
    _ = t.gettext
    ask_usage = command(t, "ask") + " " + _("interview") + ":"
    head = t.ngettext(
        "**{count} interview** — ask about one with `{ask}`",
        "**{count} interviews** — ask about one with `{ask}`",
        len(topics),
    ).format(count=len(topics), ask=ask_usage)
    tail = (
        _("Sections of the first {count} below; find any section with `{topics}`").format(
            count=limits.EMBEDS_PER_MESSAGE, topics=command(t, "topics") + " " + _("section") + ":"
        )
        if len(topics) > limits.EMBEDS_PER_MESSAGE else ""
    )
    room = limits.CONTENT - len(head) - len(tail) - 40
    lines: list[str] = []
    for number, topic in enumerate(topics[:LISTED_INTERVIEWS], start=1):
        guest = f" · {limits.truncate(escape(topic.guest), 60)}" if topic.guest else ""
        sections = t.ngettext(
            "({count} section)", "({count} sections)", len(topic.sections)
        ).format(count=len(topic.sections))
        line = f"{number}. {limits.truncate(escape(topic.title), 150)}{guest} {sections}"
        if sum(len(x) + 1 for x in lines) + len(line) > room:
            break
        lines.append(line)
    if len(lines) < len(topics):
        lines.append(_("… and {count} more").format(count=len(topics) - len(lines)))
    return limits.fit_content("\n".join([head, *lines, *([tail] if tail else [])]))


def library_embeds(t: Translations, topics: Sequence[TopicTranscript]) -> list[discord.Embed]:
    """One compact embed per interview (up to 10): a line per section with its keywords.

    The 6000 characters of a message are shared out evenly; sections that do not fit are
    counted rather than cut mid-line, and each embed points to ``/topics section:``.
    """
    shown = list(topics[: limits.EMBEDS_PER_MESSAGE])
    budget = limits.EMBED_TOTAL // max(1, len(shown))
    embeds = []
    for topic in shown:
        title = limits.truncate(escape(topic.title), limits.EMBED_TITLE)
        footer = " · ".join((
            t.ngettext("{count} section", "{count} sections", len(topic.sections)).format(
                count=len(topic.sections)),
            t.ngettext("{count} passage", "{count} passages", _passage_count(topic)).format(
                count=_passage_count(topic)),
            section_usage(t),
        ))
        room = min(limits.EMBED_DESCRIPTION, budget - len(title) - len(footer)) - 40
        lines: list[str] = []
        used = 0
        for index, section in enumerate(topic.sections):
            keywords = ", ".join(escape(k) for k in list(section.keywords)[:4])
            line = f"• **{limits.truncate(escape(section.title), 120)}**"
            if keywords:
                line += f" — *{keywords}*"
            if used + len(line) + 1 > room:
                more = len(topic.sections) - index
                lines.append(t.ngettext(
                    "… and {count} more section", "… and {count} more sections", more
                ).format(count=more))
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


def section_embed(
    t: Translations, topic: TopicTranscript, section: TopicSection
) -> discord.Embed:
    """One section: each host question with the first line of the answer and its moment."""
    _ = t.gettext
    embed = discord.Embed(title=escape(section.title), url=topic.video_url or None, colour=ACCENT)
    for question in list(section.questions)[: limits.EMBED_FIELDS]:
        answer = limits.truncate(escape(question.first_answer_line), 700)
        video = video_line(t, question.link, question.start)
        value = f"> {answer}" + (f"\n{video}" if video else "")
        embed.add_field(name=escape(question.full or question.short), value=value, inline=False)
    if not section.questions:
        embed.description = _("No host questions in this section.")
    if section.keywords:
        embed.set_footer(text=_("Keywords: {keywords}").format(
            keywords=", ".join(section.keywords)))
    embed.set_author(name=topic.title)
    return limits.fit_embed(embed)


# ---- reloading ------------------------------------------------------------------------------


def one_line(t: Translations, text: str, limit: int = 600) -> str:
    """The first line of an error, escaped and short enough for a reply."""
    stripped = (text or "").strip()
    first = stripped.splitlines()[0] if stripped else t.gettext("unknown error")
    return limits.truncate(escape(first), limit)


def _passages(t: Translations, count: int) -> str:
    return t.ngettext("{count} passage", "{count} passages", count).format(count=count)


def _interviews(t: Translations, count: int) -> str:
    return t.ngettext("{count} interview", "{count} interviews", count).format(count=count)


def library_lines(t: Translations, library: Library) -> list[str]:
    lines = []
    for transcript in list(library.transcripts)[:LISTED_INTERVIEWS]:
        lines.append(
            f"• {limits.truncate(escape(transcript.title), 150)} — "
            f"{_passages(t, len(transcript.passages))} (`{transcript.id}`)"
        )
    if len(library.transcripts) > LISTED_INTERVIEWS:
        more = len(library.transcripts) - LISTED_INTERVIEWS
        lines.append(t.gettext("… and {count} more").format(count=more))
    return lines


def reload_text(t: Translations, library: Library, process: str) -> str:
    """What /reload installed, and in which process (``process``: see ``meta.this_process``)."""
    head = t.gettext("Reloaded on this process ({process}): {interviews}, {passages}.").format(
        process=process,
        interviews=_interviews(t, len(library.transcripts)),
        passages=_passages(t, len(library.passages)),
    )
    return limits.fit_content("\n".join([head, *library_lines(t, library)]))


def reload_failed_text(t: Translations, problem: str, library: Library) -> str:
    """Why /reload failed, and that the previous library is still the one answering."""
    return limits.fit_content(
        t.gettext(
            "Reload failed, nothing changed: {problem}\n"
            "Still serving the previous library ({interviews}, {passages}). "
            "Fix the file and run `{reload}` again."
        ).format(
            problem=problem,
            interviews=_interviews(t, len(library.transcripts)),
            passages=_passages(t, len(library.passages)),
            reload=command(t, "reload"),
        )
    )


# ---- quotes ---------------------------------------------------------------------------------


def timestamp(quote: StoredQuote) -> str:
    return f"<t:{int(quote.saved_at.timestamp())}:R>"


def quote_line(t: Translations, quote: StoredQuote, width: int = 250) -> str:
    # One line per quote in a list: a quote running across paragraphs keeps its break only
    # where it is shown alone.
    text = limits.truncate(escape(" ".join(quote.text.split("\n"))), width)
    video = video_line(t, quote.link, start_of_link(quote.link))
    saved = t.gettext("saved by {name} {when}").format(
        name=escape(quote.saved_by_name), when=timestamp(quote)
    )
    return (
        f"**#{quote.number}** “{text}” — {escape(quote.speaker)}"
        + (f" · {video}" if video else "")
        + f"\n  {saved}"
    )


def quote_embed(t: Translations, quote: StoredQuote, title: str | None = None) -> discord.Embed:
    _ = t.gettext
    embed = discord.Embed(
        title=title or _("Quote #{number}").format(number=quote.number),
        description=blockquote(escape(quote.text)),
        colour=QUOTE_COLOUR,
        url=quote.link or None,
    )
    embed.set_author(name=quote.speaker or _("Unknown speaker"))
    if quote.section:
        embed.add_field(name=_("Section"), value=escape(quote.section), inline=True)
    embed.add_field(
        name=_("Saved by"), value=f"{escape(quote.saved_by_name)} {timestamp(quote)}", inline=True
    )
    if quote.link:
        embed.add_field(
            name=_("Video"), value=video_line(t, quote.link, start_of_link(quote.link)),
            inline=True,
        )
    return limits.fit_embed(embed)


def quote_list_embed(
    t: Translations, title: str, quotes: Sequence[StoredQuote], footer: str = ""
) -> discord.Embed:
    lines = [quote_line(t, q) for q in quotes]
    embed = discord.Embed(title=title, description="\n".join(lines), colour=QUOTE_COLOUR)
    if footer:
        embed.set_footer(text=footer)
    return limits.fit_embed(embed)


def help_embed(t: Translations) -> discord.Embed:
    _ = t.gettext
    embed = discord.Embed(
        title=_("Interview Quote Bot"),
        description=_("Answers questions about the interview with the speaker's exact words."),
        colour=ACCENT,
    )
    for path, options, what in HELP_LINES:
        shown = [
            f"[{_(o[1:-1])}]" if o.startswith("[") else _(o) for o in options
        ]
        embed.add_field(name=" ".join([command(t, path), *shown]), value=_(what), inline=False)
    return limits.fit_embed(embed)
