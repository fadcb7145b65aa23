"""``quotebot console``: the bot's slash commands in a terminal, no Discord needed.

It accepts the same commands as Discord (``/ask 规模重要吗?``, ``/topics``, ``/quote add …``)
and prints the same replies as text, with a local quote collection (guild 0), so anyone can
try the bot before creating a Discord application.

At a terminal it behaves like a shell: line editing and history through the standard
library's `readline` (history kept in the user state directory), ``help``, ``clear``,
``exit`` and ``quit`` as bare words, Ctrl-C drops the line being typed and Ctrl-D leaves.
`readline` rather than prompt_toolkit: it is in the standard library, edits wide (CJK)
characters correctly in a UTF-8 terminal, and the console needs nothing it lacks.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from platformdirs import user_state_dir

from bot.config import APP_NAME
from bot.frontends.i18n import Translations, environment_locale, text, translations
from bot.frontends.text_render import render_answer, render_topics
from bot.library import Library
from bot.model import N_, QueryError, Transcript, format_time, start_of_link
from bot.quotes.backend import make_quote_backend, parse_db_setting
from bot.quotes.service import QuoteService, parse_quote_number
from bot.quotes.store import QuoteStoreError, StoredQuote
from bot.text.usertext import visible_text
from bot.topics import section_by_number

log = logging.getLogger(__name__)

CONSOLE_GUILD = 0
CONSOLE_USER = 1

PROMPT = "> "
HISTORY_LENGTH = 1000
CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J"  # cursor home, erase screen and scrollback (ANSI)
EXIT_WORDS = ("exit", "quit")
# Shell words understood with or without a slash (``topics`` also with a section number);
# any other line without a slash is a question.
BARE_COMMANDS = ("help", "clear", "more", "topics", *EXIT_WORDS)

# (what to type, what it does): the commands are typed as shown, in every language
HELP_LINES = (
    (N_("/ask <question> [results]"), N_("answer with the speaker's own words (results 1-5)")),
    ("/more", N_("the next results of the last question")),
    (N_("/topics [section | number]"), N_("the table of contents, or one section's questions")),
    (N_("/quote add <text>"), N_("save a quote (verified against the transcript)")),
    (N_("/quote list [page]"), N_("saved quotes, newest first")),
    ("/quote random", N_("a random saved quote")),
    (N_("/quote show <number>"), N_("one saved quote")),
    (N_("/quote search <text>"), N_("saved quotes containing the text")),
    (N_("/quote remove <number>"), N_("remove a quote you saved")),
    ("/help", N_("this list")),
    ("/clear", N_("clear the screen")),
    ("/exit, /quit", N_("leave (or Ctrl-D)")),
)
HELP_NOTE = N_(
    "The slash is optional for help, clear, more, topics, exit and quit; any other line without\n"
    "one is asked as a question. Up and Down recall earlier lines."
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
    lines.append(_(HELP_NOTE))
    return "\n".join(lines)


def render_quote(t: Translations, quote: StoredQuote) -> str:
    saved = quote.saved_at.strftime("%Y-%m-%d %H:%M UTC")
    text = quote.text.replace("\n", "\n   ")  # a quote across paragraphs: a line each
    lines = [f"#{quote.number} 「{text}」", f"   — {quote.speaker} · {quote.section}"]
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

    async def handle(self, line: str) -> str:
        """One reply line(s) for one command; store trouble is one line, never a crash."""
        try:
            return await self._handle(line)
        except QuoteStoreError as exc:
            return str(exc)

    async def _handle(self, line: str) -> str:
        line = visible_text(line)
        if not line:
            return ""
        if not line.startswith("/"):
            word, _, argument = line.lower().partition(" ")
            if word in BARE_COMMANDS and (not argument or word == "topics" and argument.isdigit()):
                line = "/" + line
            else:
                line = "/ask " + line  # a bare question is the most common thing to type
        command, _, rest = line[1:].partition(" ")
        if command.lower() == "quote":
            try:
                return await self.quote(rest.strip())
            except QuoteStoreError as exc:  # e.g. the database went away mid-session
                log.error("quote command failed: %s", exc)
                return self.t.gettext("quote collection unavailable: {error}").format(error=exc)
        handlers: dict[str, Callable[[str], str]] = {
            "ask": self.ask,
            "more": lambda _: self.more(),
            "topics": self.topics,
            "help": lambda _: help_text(self.t),
            "clear": lambda _: CLEAR_SCREEN,
        }
        handler = handlers.get(command.lower())
        if handler is None:
            return self.t.gettext("Unknown command /{command}. Type /help for the list.").format(
                command=command
            )
        return handler(rest.strip())

    def ask(self, rest: str, results: int = 1) -> str:
        parts = rest.rsplit(" ", 1)
        count = parse_quote_number(parts[1]) if len(parts) == 2 else None
        if count is not None:
            rest, results = parts[0], max(1, min(5, count))
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
        if rest.isdigit():  # the number `/topics` shows beside each section
            found = section_by_number(topics, int(rest))
            if found is None:
                count = sum(len(t.sections) for t in topics)
                return self.t.gettext(
                    "There is no section {number}: sections are numbered 1 to {count}."
                ).format(number=rest, count=count)
        else:
            found = self.library.find_section(rest)  # the same match as Discord's /topics
        if found is None:
            titles = [s.title for t in topics for s in t.sections]
            return self.t.gettext("No section matches “{section}”. Sections: {titles}").format(
                section=rest, titles="; ".join(titles)
            )
        return render_topics(topics, section=found[1])

    async def quote(self, rest: str) -> str:
        _ = self.t.gettext
        if self.quotes is None:
            return _("The quote collection is unavailable (see the error at start-up).")
        action, _space, argument = rest.partition(" ")
        argument = argument.strip()
        action = action.lower()
        if action == "add":
            result = await self.quotes.add(CONSOLE_GUILD, CONSOLE_USER, self.user_name, argument)
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
            page = parse_quote_number(argument) or 1
            listing = await self.quotes.list_page(CONSOLE_GUILD, page)
            if not listing.total:
                return _("No quotes saved yet. Save one with /quote add <text>.")
            header = _("Quotes, page {page}/{pages} ({count} in all):").format(
                page=listing.page, pages=listing.pages, count=listing.total
            )
            return "\n".join([header, *(render_quote(self.t, q) for q in listing.quotes)])
        if action == "random":
            quote = await self.quotes.random(CONSOLE_GUILD)
            return render_quote(self.t, quote) if quote else _("No quotes saved yet.")
        if action in ("show", "remove"):
            number = parse_quote_number(argument)
            if number is None:
                return _("Usage: /quote {action} <number>").format(action=action)
            missing = _("There is no quote #{number}.").format(number=number)
            if action == "show":
                quote = await self.quotes.show(CONSOLE_GUILD, number)
                return render_quote(self.t, quote) if quote else missing
            removed = await self.quotes.remove(CONSOLE_GUILD, number, CONSOLE_USER, can_manage=True)
            if removed.status == "removed":
                return _("Removed quote #{number}.").format(number=number)
            return missing
        if action == "search":
            found = await self.quotes.search(CONSOLE_GUILD, argument)
            if found.message is not None:
                return text(self.t, found.message)
            if not found.quotes:
                return _("No saved quote contains “{text}”.").format(text=found.query)
            return "\n".join(render_quote(self.t, q) for q in found.quotes)
        return _("Usage: /quote add|list|random|show|search|remove …")


def is_exit(line: str) -> bool:
    return line.strip().lower().removeprefix("/") in EXIT_WORDS


def banner(t: Translations, transcripts: tuple[Transcript, ...]) -> str:
    """The first line(s): every interview the console can answer from, with its length."""

    def named(transcript: Transcript) -> str:
        times = [turn.start for turn in transcript.turns if turn.start is not None]
        return transcript.title + (f" ({format_time(max(times))}+)" if times else "")

    hint = t.gettext("Type a question, help for the commands, exit or Ctrl-D to leave.")
    if len(transcripts) == 1:
        head = t.gettext("Interview Quote Bot — {title}.").format(title=named(transcripts[0]))
        return f"{head}\n{hint}"
    listed = "\n".join(f"  {n}. {named(x)}" for n, x in enumerate(transcripts, start=1))
    head = t.ngettext(
        "Interview Quote Bot — {count} interview:",
        "Interview Quote Bot — {count} interviews:",
        len(transcripts),
    ).format(count=len(transcripts))
    return f"{head}\n{listed}\n{hint}"


def history_path() -> Path:
    """Where the console keeps its line history (the user state directory)."""
    return Path(user_state_dir(APP_NAME)) / "console_history"


def run_console(
    library: Library,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    db_path: Path | str | None = None,
    t: Translations | None = None,
) -> int:
    """Read commands until exit/quit or end of input; returns the exit status. ``t`` is the
    catalog to speak (default: the terminal's language).

    The quote store is async (it may be PostgreSQL); the console drives it on a private event
    loop, one command at a time, and reads lines outside it, so Ctrl-C at the prompt behaves
    as in any shell.
    """
    from bot.config import ConfigError, load_config

    t = t or translations(environment_locale())
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    loop = asyncio.new_event_loop()
    quotes: QuoteService | None = None
    try:
        target = parse_db_setting(str(db_path)) if db_path else load_config().db_target
        store = make_quote_backend(target)
        loop.run_until_complete(store.open())
        quotes = QuoteService(library, store)
    except (QuoteStoreError, ConfigError, ValueError) as exc:
        print(t.gettext("quote collection unavailable: {error}").format(error=exc), file=stdout)
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "console"
    console = Console(library, quotes, user, t)
    print(banner(t, library.transcripts), file=stdout, flush=True)
    terminal = stdin.isatty()
    lines = (
        _terminal_lines(stdout)
        if terminal and stdin is sys.stdin and stdout is sys.stdout
        else _plain_lines(stdin, stdout, terminal)
    )
    try:
        for line in lines:
            if is_exit(line):
                break
            reply = loop.run_until_complete(console.handle(line))
            if reply == CLEAR_SCREEN:
                if stdout.isatty():
                    print(reply, end="", file=stdout, flush=True)
            elif reply:
                print(reply, file=stdout, flush=True)
    finally:
        lines.close()
        if quotes is not None:
            loop.run_until_complete(quotes.store.close())
        loop.close()
    return 0


def _plain_lines(stdin: TextIO, stdout: TextIO, terminal: bool) -> Iterator[str]:
    """Lines of a pipe or file, or of a terminal we cannot edit on (no `readline`)."""
    # Invalid UTF-8 typed or piped in becomes U+FFFD instead of ending the session.
    reconfigure = getattr(stdin, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):
            pass
    while True:
        if terminal:
            print(PROMPT, end="", file=stdout, flush=True)
        try:
            line = stdin.readline()
        except UnicodeDecodeError:
            print("That line was not valid text; please type it again.", file=stdout)
            continue
        if not line:
            if terminal:
                print(file=stdout, flush=True)  # Ctrl-D: leave the shell's prompt its own line
            return
        yield line


def _terminal_lines(stdout: TextIO) -> Iterator[str]:
    """Lines typed at the terminal through `input`, which edits with `readline` when the
    platform has it; history is loaded from and saved to `history_path`."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: still usable, without editing
        yield from _plain_lines(sys.stdin, stdout, True)
        return
    history = history_path()
    readline.set_history_length(HISTORY_LENGTH)
    try:
        readline.read_history_file(history)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot read console history %s: %s", history, exc)
    try:
        while True:
            try:
                line = input(PROMPT)
            except EOFError:
                print(file=stdout, flush=True)  # Ctrl-D: leave the shell's prompt its own line
                return
            except KeyboardInterrupt:  # Ctrl-C drops the line being typed, as in a shell
                print(file=stdout, flush=True)
                continue
            yield line
    finally:
        try:
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)
        except OSError as exc:
            log.warning("cannot save console history %s: %s", history, exc)


__all__ = ["Console", "banner", "history_path", "run_console"]
