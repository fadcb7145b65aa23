"""``quotebot``: ask the bundled interview from a terminal, check transcripts, run the bot.

Every subcommand is a thin renderer over the core (`bot.library`); errors are one line on
stderr with a non-zero exit status, never a traceback.
"""

from __future__ import annotations

# Only what every command needs is imported here; the index (numpy, jieba, OpenCC, the
# metadata schema) and discord.py are imported by the commands that use them, inside
# `main`. A Ctrl-C while quotebot starts ends like any other Ctrl-C: status 130, no traceback.
try:
    import argparse
    import json
    import logging
    import sys
    import textwrap
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import TYPE_CHECKING, TypeVar

    from bot.formats.article import TranscriptError
    from bot.model import GUEST, HOST, UNKNOWN, LibraryError, QueryError
    from bot.quotes.store import QuoteStoreError

    if TYPE_CHECKING:
        from bot.library import Library
except KeyboardInterrupt:
    raise SystemExit(130) from None

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


def _positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 25:
        raise argparse.ArgumentTypeError("must be between 1 and 25")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quotebot",
        description="Ask a recorded interview questions and get the speaker's own words.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the epilog's lines
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_dir_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir", type=Path, default=None, metavar="DIR",
            help="folder of transcripts and their .meta.json (default: the bundled interview, "
                 "or QUOTEBOT_DATA_DIR)",
        )

    ask = sub.add_parser("ask", help="answer a question with quotes from the interview")
    ask.add_argument("question", help="the question, e.g. 规模重要吗?")
    ask.add_argument("--top", type=_positive_int, default=1, metavar="N",
                     help="how many passages (1-25)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--speaker", choices=("guest", "any"), default="guest",
                     help="guest (default) quotes only the interviewee; any includes the host")
    ask.add_argument("--interview", default=None, metavar="ID", help="restrict to one interview id")
    data_dir_option(ask)

    topics = sub.add_parser("topics", help="the interview's table of contents")
    topics.add_argument("--json", action="store_true", help="print one JSON object")
    data_dir_option(topics)

    ingest = sub.add_parser("ingest", help="parse and validate a transcript file")
    ingest.add_argument(
        "path", type=Path, help="transcript (article .txt, Whisper .txt, .srt, .vtt)"
    )
    ingest.add_argument("--add", action="store_true",
                        help="copy the file and its .meta.json into the data dir once valid "
                             "(default: your user data dir, served with the bundled interview)")
    ingest.add_argument("--replace", action="store_true",
                        help="with --add: replace a transcript of the same name")
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    data_dir_option(ingest)

    export = sub.add_parser("export", help="every passage with its speaker, section and link")
    export.add_argument("--json", action="store_true",
                        help='print one JSON object: {"interviews": [...], "passages": [...]}')
    data_dir_option(export)

    evaluate = sub.add_parser("eval", help="measure answer quality on a JSONL question set")
    evaluate.add_argument("file", type=Path, help="questions like dev_questions.jsonl")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--half", choices=("tune", "report"), default=None,
        help="evaluate one stratified half (per kind, by id: even positions tune, odd report)",
    )
    data_dir_option(evaluate)

    sub.add_parser("run", help="start the Discord bot (needs DISCORD_TOKEN; reads .env)")
    sub.add_parser("sync", help="register the slash commands with Discord (needs DISCORD_TOKEN)")
    console = sub.add_parser("console", help="try the bot's commands in this terminal")
    data_dir_option(console)
    parser.epilog = _commands_epilog(sub.choices)
    return parser


def _commands_epilog(commands: dict[str, argparse.ArgumentParser]) -> str:
    """Every subcommand with its options, so ``quotebot --help`` shows the whole surface."""
    from bot.config import env_file_candidates

    lines = ["every command with its options:"]
    for command in commands.values():
        usage = command.format_usage().removeprefix("usage: ").replace(" [-h]", "")
        lines.append(textwrap.fill(" ".join(usage.split()), width=EPILOG_WIDTH,
                                   initial_indent="  ", subsequent_indent="      "))
    here, config_dir = env_file_candidates()
    lines.append("")
    lines.append(textwrap.fill(
        "`quotebot COMMAND --help` explains each option. Settings (DISCORD_TOKEN, …) come "
        f"from the environment, else from {here.name} in the current directory, else from "
        f"{config_dir}.", width=EPILOG_WIDTH))
    return "\n".join(lines)


def _data_dir(args: argparse.Namespace) -> Path | None:
    if getattr(args, "data_dir", None) is not None:
        return args.data_dir
    from bot.config import load_config

    return load_config().data_dir


def _library(args: argparse.Namespace) -> Library:
    from bot.library import Library

    try:
        return Library.load(_data_dir(args))
    except (LibraryError, TranscriptError) as exc:
        raise CliError(str(exc)) from None


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.frontends.text_render import render_answer

    library = _library(args)
    try:
        answer = library.ask(
            args.question, top=args.top, speaker=args.speaker, interview=args.interview
        )
    except QueryError as exc:
        message = str(exc)
        if args.interview and library.transcript(args.interview) is None:
            message += "; see `quotebot topics` for the list"
        raise CliError(message) from None
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_answer(answer))
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
        print(render_export(library.transcripts))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from bot.formats.datadir import default_data_dir, load_transcript, user_data_dir
    from bot.ingest import IngestError, add_to_data_dir, check_name

    path: Path = args.path
    if not path.is_file():
        raise CliError(f"{path}: no such file")
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
            raise CliError(f"not added: {exc.strerror or exc}") from None
        report["added_to"] = str(added.transcript)
        report["status"] = added.status
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"{path}: OK — {transcript.title}")
    print(f"  id: {transcript.id}")
    print(f"  video: {transcript.video_url or '(none: quotes will have no link)'}")
    print(f"  sections ({len(transcript.sections)}):")
    for section in transcript.sections:
        print(f"    - {section.title}")
    print(f"  turns: {roles[HOST]} host, {roles[GUEST]} guest"
          + (f", {roles[UNKNOWN]} unknown speaker" if roles[UNKNOWN] else ""))
    print(f"  passages: {len(transcript.passages)}; turns with a start time: "
          f"{report['timed_turns']}")
    if args.add:
        if report["status"] == "unchanged":
            print(f"  already in the data dir, identical: nothing changed ({report['added_to']})")
        else:
            print(f"  {report['status']}: {report['added_to']}")
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
    print(f"{'kind':<14}{'n':>4}{'hit@1':>8}{'hit@3':>8}{'answered':>10}"
          f"{'not answered':>14}{'no passage':>12}")
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


def _config_with_token():
    """The bot's settings, or exit 2 with how to get a token (console needs none)."""
    from bot.config import ConfigError, load_config

    try:
        config = load_config()
        config.require_token()
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    return config


# What can stop the bot before it connects: bad transcripts, an unreadable quote database.
STARTUP_ERRORS = (LibraryError, TranscriptError, QuoteStoreError)

TOKEN_REFUSED = (
    "Discord refused DISCORD_TOKEN: copy a fresh one from the Developer Portal "
    "(your application > Bot > Reset Token)."
)


def _talk_to_discord(action: Callable[[], T]) -> T:
    """Run ``action`` (connecting to Discord); everything that can go wrong on the way is
    one line for the operator, never a traceback."""
    import aiohttp
    import discord

    try:
        return action()
    except discord.LoginFailure:
        raise CliError(TOKEN_REFUSED) from None
    except STARTUP_ERRORS as exc:
        raise CliError(str(exc)) from None
    except (discord.DiscordServerError, discord.GatewayNotFound) as exc:
        status = getattr(exc, "status", "no gateway")
        raise CliError(
            f"could not talk to Discord: its servers answered with an error ({status}); they "
            "may be having trouble (https://discordstatus.com), try again in a few minutes"
        ) from None
    except discord.HTTPException as exc:
        first = (exc.text.strip().splitlines() or ["no reason"])[0]
        raise CliError(f"could not talk to Discord: it refused the request ({exc.status}: "
                       f"{first})") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CliError(
            f"could not talk to Discord: cannot reach it ({first}); check the internet "
            "connection, proxy or firewall"
        ) from None


def cmd_run(args: argparse.Namespace) -> int:
    from bot.frontends.discord.client import run_bot

    config = _config_with_token()
    log.info("%s", config.env_report())  # the path only: a .env holds the token
    _talk_to_discord(lambda: run_bot(config))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from bot.frontends.discord.client import sync_commands

    config = _config_with_token()
    names = _talk_to_discord(lambda: sync_commands(config))
    print("Synced: " + ", ".join(f"/{name}" for name in names))
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.frontends.console import run_console

    return run_console(_library(args))


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
        args = build_parser().parse_args(argv)
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
    except BrokenPipeError:  # `quotebot ask … | head`: the reader left; not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
