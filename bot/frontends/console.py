"""``quotebot console``: the bot's slash commands in a terminal, no Discord needed.

It accepts the same commands as Discord (``/ask 规模重要吗?``, ``/topics``, ``/quote add …``)
and prints the same replies as text, with a local quote collection (guild 0), so anyone can
try the bot before creating a Discord application.
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.frontends.text_render import render_answer, render_topics
from bot.library import Library
from bot.model import QueryError, format_time, start_of_link
from bot.quotes.service import QuoteService, parse_quote_number
from bot.quotes.store import QuoteStore, QuoteStoreError, StoredQuote
from bot.text.usertext import visible_text

log = logging.getLogger(__name__)

CONSOLE_GUILD = 0
CONSOLE_USER = 1

HELP = """Commands (the same as on Discord):
  /ask <question> [results]      answer with the speaker's own words (results 1-5)
  /more                          the next results of the last question
  /topics [section]              the table of contents, or one section's questions
  /quote add <text>              save a quote (verified against the transcript)
  /quote list [page]             saved quotes, newest first
  /quote random                  a random saved quote
  /quote show <number>           one saved quote
  /quote search <text>           saved quotes containing the text
  /quote remove <number>         remove a quote you saved
  /help                          this list
  /quit                          leave"""


def render_quote(quote: StoredQuote) -> str:
    saved = quote.saved_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"#{quote.number} 「{quote.text}」", f"   — {quote.speaker} · {quote.section}"]
    if quote.link:
        when = format_time(start_of_link(quote.link))
        lines.append(f"   ▶ {when + ' ' if when else ''}{quote.link}")
    lines.append(f"   saved by {quote.saved_by_name}, {saved}")
    return "\n".join(lines)


class Console:
    """Turns one command line into one reply string; I/O stays in `run_console`."""

    def __init__(self, library: Library, quotes: QuoteService | None, user_name: str) -> None:
        self.library = library
        self.quotes = quotes
        self.user_name = user_name
        self._last_question: str | None = None
        self._shown = 0

    def handle(self, line: str) -> str:
        """One reply line(s) for one command; store trouble is one line, never a crash."""
        try:
            return self._handle(line)
        except QuoteStoreError as exc:
            return str(exc)

    def _handle(self, line: str) -> str:
        line = visible_text(line)
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
            "help": lambda _: HELP,
        }
        handler = handlers.get(command.lower())
        if handler is None:
            return f"Unknown command /{command}. Type /help for the list."
        return handler(rest.strip())

    def ask(self, rest: str, results: int = 1) -> str:
        parts = rest.rsplit(" ", 1)
        count = parse_quote_number(parts[1]) if len(parts) == 2 else None
        if count is not None:
            rest, results = parts[0], max(1, min(5, count))
        try:
            answer = self.library.ask(rest, top=results)
        except QueryError as exc:
            return str(exc)
        self._last_question, self._shown = rest, len(answer.hits)
        return render_answer(answer)

    def more(self) -> str:
        if not self._last_question:
            return "Ask a question first with /ask."
        answer = self.library.ask(self._last_question, top=1, offset=self._shown)
        if not answer.hits:
            return "No more results for that question."
        self._shown += len(answer.hits)
        return render_answer(answer, first_number=self._shown)

    def topics(self, rest: str) -> str:
        topics = self.library.topics()
        if not rest:
            return render_topics(topics)
        found = self.library.find_section(rest)  # the same match as Discord's /topics
        if found is None:
            titles = [s.title for t in topics for s in t.sections]
            return f"No section matches {rest!r}. Sections: " + "; ".join(titles)
        return render_topics(topics, section=found[1].title)

    def quote(self, rest: str) -> str:
        if self.quotes is None:
            return "The quote collection is unavailable (see the error at start-up)."
        action, _, argument = rest.partition(" ")
        argument = argument.strip()
        action = action.lower()
        if action == "add":
            result = self.quotes.add(CONSOLE_GUILD, CONSOLE_USER, self.user_name, argument)
            if result.status == "added" and result.quote:
                return "Saved.\n" + render_quote(result.quote)
            if result.status == "duplicate" and result.quote:
                return f"Already saved as #{result.quote.number}."
            if result.status == "not_found":
                text = "Those words are not in the interview, so they were not saved."
                if result.suggestion is not None:
                    text += f"\nClosest passage: 「{result.suggestion.text}」"
                return text
            return result.message
        if action == "list":
            page = parse_quote_number(argument) or 1
            listing = self.quotes.list_page(CONSOLE_GUILD, page)
            if not listing.total:
                return "No quotes saved yet. Save one with /quote add <text>."
            header = f"Quotes, page {listing.page}/{listing.pages} ({listing.total} in all):"
            return "\n".join([header, *(render_quote(q) for q in listing.quotes)])
        if action == "random":
            quote = self.quotes.random(CONSOLE_GUILD)
            return render_quote(quote) if quote else "No quotes saved yet."
        if action in ("show", "remove"):
            number = parse_quote_number(argument)
            if number is None:
                return f"Usage: /quote {action} <number> (a quote number like 12)"
            if action == "show":
                quote = self.quotes.show(CONSOLE_GUILD, number)
                return render_quote(quote) if quote else f"There is no quote #{number}."
            removed = self.quotes.remove(CONSOLE_GUILD, number, CONSOLE_USER, can_manage=True)
            if removed.status == "removed":
                return f"Removed quote #{number}."
            return f"There is no quote #{number}."
        if action == "search":
            found = self.quotes.search(CONSOLE_GUILD, argument)
            if found.message:
                return found.message
            if not found.quotes:
                return f"No saved quote contains 「{found.query}」."
            return "\n".join(render_quote(q) for q in found.quotes)
        return "Usage: /quote add|list|random|show|search|remove …"


def run_console(
    library: Library,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    db_path=None,
) -> int:
    """Read commands until /quit or end of input; returns the exit status."""
    from bot.config import load_config

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    path = db_path or load_config().db_path
    quotes: QuoteService | None
    try:
        quotes = QuoteService(library, QuoteStore(path))
    except QuoteStoreError as exc:
        print(f"quote collection unavailable: {exc}", file=stdout)
        quotes = None
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "console"
    console = Console(library, quotes, user)
    interactive = stdin.isatty()
    transcript = library.transcripts[0]
    times = [t.start for t in transcript.turns if t.start is not None]
    length = f", {format_time(max(times))}+" if times else ""
    print(f"Interview Quote Bot — {transcript.title}{length}. Type /help, /quit to leave.",
          file=stdout)
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
    # Invalid UTF-8 typed or piped in becomes U+FFFD instead of ending the session.
    reconfigure = getattr(stdin, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):
            pass
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        try:
            line = stdin.readline()
        except UnicodeDecodeError:
            print("That line was not valid text; please type it again.", file=stdout)
            continue
        if not line:
            return
        yield line


__all__ = ["Console", "run_console"]
