"""Property tests: random and mutated input to every parser and to ask/quote input handling.
The only outcomes allowed are a result or our own error type — never a crash.

Bounded (few examples, no deadline) so the whole suite stays well under three minutes; run
with ``--hypothesis-profile=thorough`` for a longer search.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.formats.article import SpeakerLabels, TranscriptError, parse_article
from bot.formats.captions import (
    CaptionError,
    merge_into_passages,
    parse_srt,
    parse_vtt,
    parse_whisper,
)
from bot.formats.datadir import load_transcript
from bot.formats.metadata import meta_path_for, parse_meta_bytes
from bot.model import QueryError
from bot.quotes.service import QuoteService, parse_quote_number, validate_quote_text
from tests.paths import SEED

SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_META = meta_path_for(SEED).read_bytes()

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile("ci")

LABELS = SpeakerLabels(host_labels=("Q",), guest_labels=("卡帕西",))

# Text that looks like our formats: their punctuation, labels, arrows and digits, plus noise.
ALPHABET = st.sampled_from(
    list("Q卡帕西:：\n \t.,。?？->0123456789[]WEBVTT，\u3000\ufeff\x00\u202e\udcffabc问你好")
)
shaped_text = st.text(ALPHABET, max_size=400)
any_text = st.text(max_size=300)


def mutations(seed: str) -> st.SearchStrategy[str]:
    """The seed with a slice cut, duplicated or replaced by random characters."""
    lines = seed.split("\n")

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        start = draw(st.integers(0, len(lines) - 1))
        end = draw(st.integers(start, min(len(lines), start + 6)))
        action = draw(st.sampled_from(["cut", "dup", "replace", "insert"]))
        if action == "cut":
            new = lines[:start] + lines[end:]
        elif action == "dup":
            new = lines[:end] + lines[start:end] + lines[end:]
        else:
            noise = draw(st.lists(shaped_text, max_size=3))
            new = lines[:start] + noise + lines[(end if action == "replace" else start):]
        return "\n".join(new)

    return mutate()


@given(st.one_of(shaped_text, any_text, mutations(SEED_TEXT)))
def test_article_parser(text):
    try:
        transcript = parse_article(text, "fuzz.txt", transcript_id="f", labels=LABELS)
    except TranscriptError:
        return
    assert transcript.passages


WHISPER = "[00:00:01.000 --> 00:00:03.500]  Hello there.\n[00:00:03.500 --> 00:00:06.000]  Yes.\n"
SRT = "1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:04,000\nWorld\n"
VTT = "WEBVTT\n\n00:01.000 --> 00:02.000\nHello\n\n00:02.500 --> 00:04.000\nWorld\n"


@pytest.mark.parametrize(
    ("parser", "seed"), [(parse_whisper, WHISPER), (parse_srt, SRT), (parse_vtt, VTT)],
    ids=["whisper", "srt", "vtt"],
)
@given(data=st.data())
def test_caption_parsers(parser, seed, data):
    text = data.draw(st.one_of(shaped_text, any_text, mutations(seed * 3)))
    try:
        cues = parser(text, "fuzz")
    except CaptionError as exc:
        assert "\n" not in exc.problem
        return
    for passage in merge_into_passages(cues, None):  # only our error type, never ValueError
        assert passage.text.strip()


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                        st.floats(allow_nan=False), st.text(max_size=30))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ), max_leaves=12)


KEYS = sorted(json.loads(SEED_META))


@given(st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(KEYS), _json_values(), max_size=4).map(
        lambda change: json.dumps(json.loads(SEED_META) | change).encode()
    ),
    st.integers(0, len(SEED_META) - 1).flatmap(
        lambda at: st.binary(min_size=1, max_size=4).map(
            lambda noise: SEED_META[:at] + noise + SEED_META[at + len(noise):]
        )
    ),
))
def test_metadata_parser(data):
    try:
        meta = parse_meta_bytes(data, Path("fuzz.meta.json"), "fuzz")
    except TranscriptError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(meta.id, str) and isinstance(meta.title, (str, type(None)))
    assert meta.video_url is None or meta.video_url.startswith(("http://", "https://"))


@settings(max_examples=15)
@given(st.integers(0, len(SEED_META) - 1), st.binary(min_size=1, max_size=3))
def test_mutated_metadata_with_its_transcript(tmp_path_factory, at, noise):
    """Whatever the metadata says, loading the pair is a transcript or a TranscriptError."""
    folder = tmp_path_factory.mktemp("fuzz-meta")
    path = folder / "t.zh.txt"
    path.write_text(SEED_TEXT, encoding="utf-8")
    (folder / "t.zh.meta.json").write_bytes(SEED_META[:at] + noise + SEED_META[at + len(noise):])
    try:
        load_transcript(path)
    except TranscriptError:
        pass


@given(st.one_of(any_text, shaped_text))
def test_ask_input(library, question):
    try:
        answer = library.ask(question)
    except QueryError as exc:
        assert "\n" not in str(exc)
        return
    for hit in answer.hits:
        assert hit.passage.text


@given(any_text)
def test_quote_number_input(text):
    number = parse_quote_number(text)
    assert number is None or (1 <= number <= 2**63 - 1 and text.strip().isascii())


@settings(max_examples=25)
@given(st.one_of(any_text, shaped_text))
def test_quote_input(library, tmp_path_factory, text):
    """Hypothesis drives plain functions: each example runs the async service on its own loop."""
    import asyncio

    from bot.frontends.console import Console
    from bot.quotes.backend import SQLiteQuoteBackend

    validate_quote_text(text)

    async def example() -> None:
        backend = SQLiteQuoteBackend.at(tmp_path_factory.mktemp("fuzz-q") / "q.sqlite3")
        try:
            service = QuoteService(library, backend)
            result = await service.search(0, text)
            assert result.query == result.query.strip()
            console = Console(library, service, "fuzz")
            for command in ("add", "search", "show", "remove", "list"):
                reply = await console.handle(f"/quote {command} {text}")
                assert isinstance(reply, str)
                reply.encode("utf-8")
        finally:
            await backend.close()

    asyncio.run(example())
