"""``quotebot console``: the bot's slash commands in a terminal, no Discord needed.

It accepts the same commands as Discord (``/ask 规模重要吗?``, ``/topics``, ``/quote add …``)
and prints the same replies as text, with a local quote collection (guild 0), so anyone can
try the bot before creating a Discord application.
"""

from __future__ import annotations

import getpass
import logging
import sys
import unicodedata
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.frontends.i18n import Translations, environment_locale, text, translations
from bot.frontends.text_render import render_answer, render_topics
from bot.library import Library
from bot.model import N_, QueryError, format_time, start_of_link
from bot.quotes.service import QuoteService
from bot.quotes.store import QuoteStore, QuoteStoreError, StoredQuote

log = logging.getLogger(__name__)

CONSOLE_GUILD = 0
CONSOLE_USER = 1

# (what to type, what it does): the commands are typed as shown, in every language
HELP_LINES = (
    (N_("/ask <question> [results]"), N_("answer with the speaker's own words (results 1-5)")),
    ("/more", N_("the next results of the last question")),
    (N_("/topics [section]"), N_("the table of contents, or one section's questions")),
    (N_("/quote add <text>"), N_("save a quote (verified against the transcript)")),
    (N_("/quote list [page]"), N_("saved quotes, newest first")),
    ("/quote random", N_("a random saved quote")),
    (N_("/quote show <number>"), N_("one saved quote")),
    (N_("/quote search <text>"), N_("saved quotes containing the text")),
    (N_("/quote remove <number>"), N_("remove a quote you saved")),
    ("/help", N_("this list")),
    ("/quit", N_("leave")),
)


def _columns(text: str) -> int:
    """Terminal columns ``text`` takes: CJK characters are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def help_text(t: Translations) -> str:
    _ = t.gettext
    rows = [(_(usage), _(what)) for usage, what in HELP_LINES]
    width = max(_columns(usage) for usage, _what in rows) + 2
    lines = [_("Commands (the same as on Discord):")]
    lines += [f"  {usage}{' ' * (width - _columns(usage))}{what}" for usage, what in rows]
    return "\n".join(lines)


def render_quote(t: Translations, quote: StoredQuote) -> str:
    saved = quote.saved_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"#{quote.number} 「{quote.text}」", f"   — {quote.speaker} · {quote.section}"]
    if quote.link:
        when = format_time(start_of_link(quote.link))
        lines.append(f"   ▶ {when + ' ' if when else ''}{quote.link}")
    lines.append("   " + t.gettext("saved by {name}, {when}").format(
        name=quote.saved_by_name, when=saved
    ))
    return "\n".join(lines)


class Console:
    """Turns one command line into one reply string; I/O stays in `run_console`."""

    def __init__(
        self,
        library: Library,
        quotes: QuoteService | None,
        user_name: str,
        t: Translations | None = None,
    ) -> None:
        self.t = t or translations(environment_locale())
        self.library = library
        self.quotes = quotes
        self.user_name = user_name
        self._last_question: str | None = None
        self._shown = 0

    def handle(self, line: str) -> str:
        line = line.strip()
        if not line:
            return ""
        if not line.startswith("/"):
            line = "/ask " + line  # a bare question is the most common thing to type
        command, _, rest = line[1:].partition(" ")
        handlers: dict[str, Callable[[str], str]] = {
            "ask": self.ask,
            "more": lambda _: self.more(),
            "topics": self.topics,
            "quote": self.quote,
            "help": lambda _: help_text(self.t),
        }
        handler = handlers.get(command.lower())
        if handler is None:
            return self.t.gettext("Unknown command /{command}. Type /help for the list.").format(
                command=command
            )
        return handler(rest.strip())

    def ask(self, rest: str, results: int = 1) -> str:
        parts = rest.rsplit(" ", 1)
        if len(parts) == 2 and parts[1].isdigit():
            rest, results = parts[0], max(1, min(5, int(parts[1])))
        try:
            answer = self.library.ask(rest, top=results)
        except QueryError as exc:
            return text(self.t, exc.message)
        self._last_question, self._shown = rest, len(answer.shown)
        return render_answer(self.t, answer)

    def more(self) -> str:
        if not self._last_question:
            return self.t.gettext("Ask a question first with /ask.")
        answer = self.library.ask(self._last_question, top=1, offset=self._shown)
        if not answer.shown:
            return self.t.gettext("No more results for that question.")
        self._shown += len(answer.shown)
        return render_answer(self.t, answer, first_number=self._shown)

    def topics(self, rest: str) -> str:
        topics = self.library.topics()
        if not rest:
            return render_topics(topics)
        found = self.library.find_section(rest)  # the same match as Discord's /topics
        if found is None:
            titles = [s.title for t in topics for s in t.sections]
            return self.t.gettext("No section matches “{section}”. Sections: {titles}").format(
                section=rest, titles="; ".join(titles)
            )
        return render_topics(topics, section=found[1].title)

    def quote(self, rest: str) -> str:
        _ = self.t.gettext
        if self.quotes is None:
            return _("The quote collection is unavailable (see the error at start-up).")
        action, _space, argument = rest.partition(" ")
        argument = argument.strip()
        action = action.lower()
        if action == "add":
            result = self.quotes.add(CONSOLE_GUILD, CONSOLE_USER, self.user_name, argument)
            if result.status == "added" and result.quote:
                return _("Saved.") + "\n" + render_quote(self.t, result.quote)
            if result.status == "duplicate" and result.quote:
                return _("Already saved as #{number}.").format(number=result.quote.number)
            if result.status == "not_found":
                reply = _("Those words are not in the interview, so they were not saved.")
                if result.suggestion is not None:
                    reply += "\n" + _("Closest passage: 「{text}」").format(
                        text=result.suggestion.text
                    )
                return reply
            if result.message is not None:
                return text(self.t, result.message)
            return _("That quote can't be saved.")
        if action == "list":
            page = int(argument) if argument.isdigit() else 1
            listing = self.quotes.list_page(CONSOLE_GUILD, page)
            if not listing.total:
                return _("No quotes saved yet. Save one with /quote add <text>.")
            header = _("Quotes, page {page}/{pages} ({count} in all):").format(
                page=listing.page, pages=listing.pages, count=listing.total
            )
            return "\n".join([header, *(render_quote(self.t, q) for q in listing.quotes)])
        if action == "random":
            quote = self.quotes.random(CONSOLE_GUILD)
            return render_quote(self.t, quote) if quote else _("No quotes saved yet.")
        if action in ("show", "remove"):
            if not argument.isdigit():
                return _("Usage: /quote {action} <number>").format(action=action)
            number = int(argument)
            missing = _("There is no quote #{number}.").format(number=number)
            if action == "show":
                quote = self.quotes.show(CONSOLE_GUILD, number)
                return render_quote(self.t, quote) if quote else missing
            removed = self.quotes.remove(CONSOLE_GUILD, number, CONSOLE_USER, can_manage=True)
            if removed.status == "removed":
                return _("Removed quote #{number}.").format(number=number)
            return missing
        if action == "search":
            found = self.quotes.search(CONSOLE_GUILD, argument)
            if found.message is not None:
                return text(self.t, found.message)
            if not found.quotes:
                return _("No saved quote contains “{text}”.").format(text=argument)
            return "\n".join(render_quote(self.t, q) for q in found.quotes)
        return _("Usage: /quote add|list|random|show|search|remove …")


def run_console(
    library: Library,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    db_path=None,
    t: Translations | None = None,
) -> int:
    """Read commands until /quit or end of input; returns the exit status. ``t`` is the
    catalog to speak (default: the terminal's language)."""
    from bot.config import load_config

    t = t or translations(environment_locale())
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    path = db_path or load_config().db_path
    quotes: QuoteService | None
    try:
        quotes = QuoteService(library, QuoteStore(path))
    except QuoteStoreError as exc:
        print(t.gettext("quote collection unavailable: {error}").format(error=exc), file=stdout)
        quotes = None
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "console"
    console = Console(library, quotes, user, t)
    interactive = stdin.isatty()
    transcript = library.transcripts[0]
    times = [t.start for t in transcript.turns if t.start is not None]
    length = f", {format_time(max(times))}+" if times else ""
    print(t.gettext("Interview Quote Bot — {title}{length}. Type /help, /quit to leave.").format(
        title=transcript.title, length=length), file=stdout)
    for line in _lines(stdin, stdout, interactive):
        if line.strip() in ("/quit", "/exit", "quit", "exit"):
            break
        reply = console.handle(line)
        if reply:
            print(reply, file=stdout, flush=True)
    if quotes is not None:
        quotes.store.close()
    return 0


def _lines(stdin: TextIO, stdout: TextIO, interactive: bool) -> Iterable[str]:
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            return
        yield line


__all__ = ["Console", "run_console"]
