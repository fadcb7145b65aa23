"""``quotebot``: ask the bundled interview from a terminal, check transcripts, run the bot.

Every subcommand is a thin renderer over the core (`bot.library`); errors are one line on
stderr with a non-zero exit status, never a traceback. Text follows ``--lang``, else the
terminal's ``LANGUAGE`` / ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` (`bot.frontends.i18n`).
"""

from __future__ import annotations

import _thread
import sys


def _redeliver_interrupts(unraisable: sys.UnraisableHookArgs) -> None:
    """A Ctrl-C that lands in a callback Python cannot raise from (importlib's module-lock
    weakref callback, while start-up imports) would be printed as "Exception ignored …
    Traceback … KeyboardInterrupt" and then lost. It is delivered again instead, to land in
    ordinary code and end like any other Ctrl-C; everything else goes to the default hook.
    (From another thread, not waited for: raised in this one, it would be lost with this
    callback's.)"""
    if issubclass(unraisable.exc_type, KeyboardInterrupt):
        _thread.start_new_thread(_thread.interrupt_main, ())
    else:
        sys.__unraisablehook__(unraisable)


sys.unraisablehook = _redeliver_interrupts


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while a Ctrl-C was being handled: OpenCC's import tries
    several locations and turns an interrupt during the first into an ImportError of the last."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


# Only what every command needs is imported here; the index (numpy, jieba, OpenCC, the
# metadata schema) and discord.py are imported by the commands that use them, inside
# `main`. A Ctrl-C while quotebot starts ends like any other Ctrl-C: status 130, no traceback.
try:
    import argparse
    import json
    import logging
    import textwrap
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import TYPE_CHECKING, TypeVar

    from bot.formats.article import TranscriptError
    from bot.frontends import i18n
    from bot.frontends.i18n import Translations
    from bot.model import GUEST, HOST, N_, UNKNOWN, LibraryError, QueryError
    from bot.quotes.store import QuoteStoreError

    if TYPE_CHECKING:
        from bot.config import Config
        from bot.library import Library
except KeyboardInterrupt:
    raise SystemExit(130) from None
except ImportError as exc:
    if _interrupted(exc):
        raise SystemExit(130) from None
    raise

log = logging.getLogger("bot.frontends.cli")

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_USAGE = 2
EPILOG_WIDTH = 79


class CliError(Exception):
    """A problem to report in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def _language(text: str) -> str:
    """A ``--lang`` value: any tag we have a catalog for (zh-CN, zh-TW, en, zh_TW.UTF-8 …)."""
    catalog = i18n.resolve(text)
    if catalog is None:
        raise argparse.ArgumentTypeError(", ".join(i18n.LANG_CHOICES))
    return catalog


def _requested_language(argv: Sequence[str] | None) -> str:
    """The catalog to speak in, read before the full parser exists (its help is translated):
    ``--lang`` when given and known, else the terminal's language."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--lang", default=None)
    known, _rest = pre.parse_known_args(argv)
    return i18n.negotiate(known.lang, i18n.environment_locale())


def build_parser(t: Translations | None = None) -> argparse.ArgumentParser:
    t = t or i18n.translations(i18n.ENGLISH)
    _ = t.gettext

    def positive_int(text: str) -> int:
        value = int(text)
        if not 1 <= value <= 25:
            raise argparse.ArgumentTypeError(_("must be between 1 and 25"))
        return value

    parser = argparse.ArgumentParser(
        prog="quotebot",
        description=_("Ask a recorded interview questions and get the speaker's own words."),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the epilog's lines
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=_("log progress to stderr"))
    parser.add_argument(
        "--lang", type=_language, default=None, metavar="|".join(i18n.LANG_CHOICES),
        help=_("language of the output (default: from LANG / LC_MESSAGES)"),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_dir_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir", type=Path, default=None, metavar="DIR",
            help=_("folder of transcripts and their .meta.json (default: the bundled "
                   "interview, or QUOTEBOT_DATA_DIR)"),
        )

    def json_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help=_("print one JSON object"))

    ask = sub.add_parser("ask", help=_("answer a question with quotes from the interview"))
    ask.add_argument("question", help=_("the question, e.g. 规模重要吗?"))
    ask.add_argument("--top", type=positive_int, default=1, metavar="N",
                     help=_("how many passages (1-25)"))
    json_option(ask)
    ask.add_argument("--speaker", choices=("guest", "any"), default="guest",
                     help=_("guest (default) quotes only the interviewee; any includes the host"))
    ask.add_argument("--interview", default=None, metavar="ID",
                     help=_("restrict to one interview id"))
    data_dir_option(ask)

    topics = sub.add_parser("topics", help=_("the interview's table of contents"))
    json_option(topics)
    data_dir_option(topics)

    ingest = sub.add_parser("ingest", help=_("parse and validate a transcript file"))
    ingest.add_argument(
        "path", type=Path, help=_("transcript (article .txt, Whisper .txt, .srt, .vtt)")
    )
    ingest.add_argument("--add", action="store_true",
                        help=_("copy the file and its .meta.json into the data dir once valid "
                               "(default: your user data dir, served with the bundled interview)"))
    ingest.add_argument("--replace", action="store_true",
                        help=_("with --add: replace a transcript of the same name"))
    json_option(ingest)
    data_dir_option(ingest)

    export = sub.add_parser("export", help=_("every passage with its speaker, section and link"))
    export.add_argument("--json", action="store_true",
                        help=_('print one JSON object: {"interviews": [...], "passages": [...]}'))
    data_dir_option(export)

    evaluate = sub.add_parser("eval", help=_("measure answer quality on a JSONL question set"))
    evaluate.add_argument("file", type=Path, help=_("questions like dev_questions.jsonl"))
    json_option(evaluate)
    evaluate.add_argument(
        "--half", choices=("tune", "report"), default=None,
        help=_("evaluate one stratified half (per kind, by id: even positions tune, odd report)"),
    )
    data_dir_option(evaluate)

    run = sub.add_parser("run", help=_("start the Discord bot (needs DISCORD_TOKEN; reads .env)"))
    run.add_argument(
        "--processes", type=int, default=None, metavar="N",
        help=_("load the library once, then fork N processes that share it, each serving a "
               "group of this machine's shards (default: QUOTEBOT_PROCESSES, else 1)"),
    )
    sub.add_parser(
        "sync", help=_("register the slash commands with Discord (needs DISCORD_TOKEN)")
    )
    console = sub.add_parser("console", help=_("try the bot's commands in this terminal"))
    data_dir_option(console)
    parser.epilog = _commands_epilog(t, sub.choices)
    return parser


def _commands_epilog(t: Translations, commands: dict[str, argparse.ArgumentParser]) -> str:
    """Every subcommand with its options, so ``quotebot --help`` shows the whole surface."""
    from bot.config import env_file_candidates

    lines = [t.gettext("every command with its options:")]
    for command in commands.values():
        usage = command.format_usage().removeprefix("usage: ").replace(" [-h]", "")
        lines.append(textwrap.fill(" ".join(usage.split()), width=EPILOG_WIDTH,
                                   initial_indent="  ", subsequent_indent="      "))
    here, config_dir = env_file_candidates()
    lines.append("")
    lines.append(textwrap.fill(t.gettext(
        "`quotebot COMMAND --help` explains each option. Settings (DISCORD_TOKEN, …) come "
        "from the environment, else from {file} in the current directory, else from "
        "{config_dir}."
    ).format(file=here.name, config_dir=config_dir), width=EPILOG_WIDTH))
    return "\n".join(lines)


def _data_dir(args: argparse.Namespace) -> Path | None:
    if getattr(args, "data_dir", None) is not None:
        return args.data_dir
    from bot.config import load_config

    return load_config().data_dir


class _ProgressBar:
    """A tqdm bar on stderr for a first build: passages per second and time left.

    Only on a terminal and never with ``--json``; opened on the first report, so a load
    from the cache shows nothing at all.
    """

    def __init__(self) -> None:
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=" passages", desc="indexing", leave=False,
                             file=sys.stderr, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _wants_progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "json", False) and sys.stderr.isatty()


def _load(data_dir: Path | None, args: argparse.Namespace) -> Library:
    from bot.library import Library

    if not _wants_progress(args):
        return Library.load(data_dir)
    bar = _ProgressBar()
    try:
        return Library.load(data_dir, progress=bar)
    finally:
        bar.close()


def _library(args: argparse.Namespace) -> Library:
    try:
        return _load(_data_dir(args), args)
    except (LibraryError, TranscriptError) as exc:
        raise CliError(str(exc)) from None


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.frontends.text_render import render_answer

    t: Translations = args.translations
    library = _library(args)
    try:
        answer = library.ask(
            args.question, top=args.top, speaker=args.speaker, interview=args.interview
        )
    except QueryError as exc:
        message = i18n.text(t, exc.message)
        if args.interview and library.transcript(args.interview) is None:
            message += " " + t.gettext("See `quotebot topics` for the list.")
        raise CliError(message) from None
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_answer(t, answer))
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from bot.frontends.text_render import render_topics

    topics = _library(args).topics()
    if args.json:
        print(json.dumps({"transcripts": [t.to_json() for t in topics]}, ensure_ascii=False,
                         indent=2))
    else:
        print(render_topics(topics))
    return 0


def export_json(library: Library) -> dict:
    """The library as data: each interview, then every passage naming its interview."""
    return {
        "interviews": [
            {"id": t.id, "title": t.title, "video_url": t.video_url, "host": t.host,
             "guest": t.guest, "passages": len(t.passages)}
            for t in library.transcripts
        ],
        "passages": [
            {**p.to_json(), "interview": {"id": t.id, "title": t.title}}
            for t in library.transcripts for p in t.passages
        ],
    }


def cmd_export(args: argparse.Namespace) -> int:
    from bot.frontends.text_render import render_export

    library = _library(args)
    if args.json:
        print(json.dumps(export_json(library), ensure_ascii=False, indent=2))
    else:
        print(render_export(args.translations, library.transcripts))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from bot.formats.datadir import default_data_dir, load_transcript, user_data_dir
    from bot.ingest import IngestError, add_to_data_dir, check_name

    _ = args.translations.gettext
    path: Path = args.path
    if not path.is_file():
        raise CliError(_("{path}: no such file").format(path=path))
    if args.add:
        try:
            check_name(path)
        except IngestError as exc:
            raise CliError(str(exc)) from None
    try:
        transcript = load_transcript(path)
    except TranscriptError as exc:
        raise CliError(str(exc)) from None
    roles = {HOST: 0, GUEST: 0, UNKNOWN: 0}
    for turn in transcript.turns:
        roles[turn.role] = roles.get(turn.role, 0) + 1
    report = {
        "file": str(path),
        "id": transcript.id,
        "title": transcript.title,
        "video_url": transcript.video_url,
        "sections": [s.title for s in transcript.sections],
        "turns": {"host": roles[HOST], "guest": roles[GUEST], "unknown": roles[UNKNOWN]},
        "passages": len(transcript.passages),
        "timed_turns": sum(1 for t in transcript.turns if t.start is not None),
    }
    if args.add:
        explicit = _data_dir(args)
        try:
            added = add_to_data_dir(
                path, explicit or user_data_dir(), replace=args.replace,
                also_served=[] if explicit else [default_data_dir()],
            )
        except IngestError as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(_("not added: {error}").format(error=exc.strerror or exc)) from None
        report["added_to"] = str(added.transcript)
        report["status"] = added.status
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    video = transcript.video_url or _("(none: quotes will have no link)")
    print(_("{path}: OK — {title}").format(path=path, title=transcript.title))
    print("  " + _("id: {id}").format(id=transcript.id))
    print("  " + _("video: {url}").format(url=video))
    print("  " + _("sections ({count}):").format(count=len(transcript.sections)))
    for section in transcript.sections:
        print(f"    - {section.title}")
    turns = _("turns: {host} host, {guest} guest").format(host=roles[HOST], guest=roles[GUEST])
    if roles[UNKNOWN]:
        turns += _(", {count} unknown speaker").format(count=roles[UNKNOWN])
    print("  " + turns)
    print("  " + _("passages: {passages}; turns with a start time: {timed}").format(
        passages=len(transcript.passages), timed=report["timed_turns"]))
    if args.add:
        if report["status"] == "unchanged":
            print("  " + _("already in the data dir, identical: nothing changed ({path})").format(
                path=report["added_to"]))
        elif report["status"] == "replaced":
            print("  " + _("replaced {path}").format(path=report["added_to"]))
        else:
            print("  " + _("added to {path}").format(path=report["added_to"]))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import EvalFileError, evaluate, read_questions, split

    try:
        questions = read_questions(args.file)
    except EvalFileError as exc:
        raise CliError(str(exc)) from None
    if args.half:
        questions = split(questions, args.half)
    result = evaluate(_library(args), questions)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    _ = args.translations.gettext
    not_answered, no_passage = _("not answered"), _("no passage")
    print(f"{'kind':<14}{'n':>4}{'hit@1':>8}{'hit@3':>8}{'answered':>10}"
          f"{not_answered:>14}{no_passage:>12}")
    for kind, row in result.items():
        if "not_answered_rate" in row:
            print(f"{kind:<14}{row['questions']:>4}{'':>8}{'':>8}{'':>10}"
                  f"{row['not_answered_rate']:>14.2f}{row['no_passage_rate']:>12.2f}")
        else:
            print(f"{kind:<14}{row['questions']:>4}{row['hit@1']:>8.2f}{row['hit@3']:>8.2f}"
                  f"{row['answered_rate']:>10.2f}")
    misses = [(kind, m) for kind, row in result.items() for m in row.get("misses", ())]
    if misses:
        print("\nmisses (in scope: gold not first; oos: any passage; adjacent_oos: answered):")
        for kind, miss in misses:
            print(f"  {kind:<14}{miss}")
    return 0


def _config_with_token(processes: int | None = None):
    """The bot's settings, or exit 2 with how to get a token (console needs none).
    ``processes``: ``run --processes N``, which wins over QUOTEBOT_PROCESSES.

    Configuration errors stay in English: they name environment variables and files for the
    operator, like the logs."""
    from bot.config import ConfigError, load_config

    try:
        config = load_config(processes=processes)
        config.require_token()
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    return config


# What can stop the bot before it connects: bad transcripts, an unreadable quote database.
STARTUP_ERRORS = (LibraryError, TranscriptError, QuoteStoreError)

TOKEN_REFUSED = N_(
    "Discord refused DISCORD_TOKEN: copy a fresh one from the Developer Portal "
    "(your application > Bot > Reset Token)."
)


def _talk_to_discord(t: Translations, action: Callable[[], T]) -> T:
    """Run ``action`` (connecting to Discord); everything that can go wrong on the way is
    one line for the operator, never a traceback."""
    import aiohttp
    import discord

    _ = t.gettext
    try:
        return action()
    except discord.LoginFailure:
        raise CliError(_(TOKEN_REFUSED)) from None
    except STARTUP_ERRORS as exc:
        raise CliError(str(exc)) from None
    except (discord.DiscordServerError, discord.GatewayNotFound) as exc:
        detail = _("its servers answered with an error ({status}); they may be having trouble "
                   "(https://discordstatus.com), try again in a few minutes").format(
            status=getattr(exc, "status", "no gateway"))
    except discord.HTTPException as exc:
        first = (exc.text.strip().splitlines() or ["-"])[0]
        detail = _("it refused the request ({status}: {reason})").format(
            status=exc.status, reason=first)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        detail = _("cannot reach it ({reason}); check the internet connection, proxy or "
                   "firewall").format(reason=first)
    raise CliError(_("could not talk to Discord: {error}").format(error=detail))


def cmd_run(args: argparse.Namespace) -> int:
    from bot.frontends.discord.client import load_for_serving, run_bot, run_bots_forked

    config = _config_with_token(args.processes)
    log.info("%s", config.env_report())  # the path only: a .env holds the token
    if config.processes == 1:
        _talk_to_discord(args.translations, lambda: run_bot(config))
        return 0
    # Load once, before any thread or event loop exists, then fork: the processes share the
    # parent's pages, and each opens its own quote-store connection after the fork.
    try:
        library = load_for_serving(config)
    except STARTUP_ERRORS as exc:
        raise CliError(str(exc)) from None

    def serve(shards: Config) -> int:
        try:
            _talk_to_discord(args.translations, lambda: run_bot(shards, library=library))
        except CliError as exc:
            print(f"quotebot: {exc}", file=sys.stderr)
            return exc.code
        return 0

    try:
        return run_bots_forked(config, serve)
    except RuntimeError as exc:  # no fork on this platform, or threads already running
        raise CliError(f"--processes: {exc}") from None


def cmd_sync(args: argparse.Namespace) -> int:
    from bot.frontends.discord.client import sync_commands

    config = _config_with_token()
    names = _talk_to_discord(args.translations, lambda: sync_commands(config))
    synced = ", ".join(f"/{name}" for name in names)
    print(args.translations.gettext("Synced: {commands}").format(commands=synced))
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.frontends.console import run_console

    return run_console(_library(args), t=args.translations)


COMMANDS = {
    "ask": cmd_ask,
    "topics": cmd_topics,
    "ingest": cmd_ingest,
    "export": cmd_export,
    "eval": cmd_eval,
    "run": cmd_run,
    "sync": cmd_sync,
    "console": cmd_console,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        t = i18n.translations(_requested_language(argv))
        args = build_parser(t).parse_args(argv)
        args.translations = t
        # `run` is a service: it says where its settings came from and when it connects.
        logging.basicConfig(
            level=logging.INFO if args.verbose or args.command == "run" else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
        )
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"quotebot: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:  # at any point, start-up (the index loading) included
        return 130
    except ImportError as exc:
        if _interrupted(exc):  # Ctrl-C inside OpenCC's import fallbacks: still just a Ctrl-C
            return 130
        raise
    except BrokenPipeError:  # `quotebot ask … | head`: the reader left; not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
