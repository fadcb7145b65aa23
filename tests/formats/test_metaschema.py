"""Metadata is validated by one schema: types, sizes, ranges, URL schemes, time order, JSON
bounds. Each case of issue 8 is refused with the file, the line and the key path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.formats.article import TranscriptError
from bot.formats.datadir import load_transcript
from bot.formats.metadata import load_meta, meta_path_for
from bot.formats.metaschema import MAX_META_BYTES, SCHEMA
from tests.paths import SEED

SEED_META = json.loads(meta_path_for(SEED).read_text(encoding="utf-8"))


def write(folder: Path, meta: dict | str | bytes) -> Path:
    path = folder / "talk.zh.txt"
    path.write_bytes(SEED.read_bytes())
    target = meta_path_for(path)
    if isinstance(meta, dict):
        target.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    elif isinstance(meta, str):
        target.write_text(meta, encoding="utf-8")
    else:
        target.write_bytes(meta)
    return path


def refused(path: Path) -> str:
    with pytest.raises(TranscriptError) as caught:
        load_meta(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(meta_path_for(path)))
    return message


def test_the_bundled_metadata_is_valid():
    meta = load_meta(SEED)
    assert meta.id == "karpathy-sequoia-2024" and len(meta.turn_starts) == 18


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"title": 42}, "title: expected a string or null"),
        ({"title": {"zh": "x"}}, "title: expected a string or null"),
        ({"title": "x" * 10_000_000}, "the limit is"),  # a 10 MB title: the file is too big
        ({"title": "x" * 301}, "title: longer than 300 characters"),
        ({"video_url": 12345}, "video_url: expected a string or null"),
        ({"video_url": "javascript:alert(1)"}, "video_url: expected an http:// or https:// URL"),
        ({"video_url": "file:///etc/passwd"}, "video_url: expected an http"),
        ({"video_url": "https://x.example/a b"}, "video_url: expected an http"),
        ({"id": ["a", "b"]}, "id: expected a string"),
        ({"id": "a/b"}, "id: an id is"),
        ({"turn_starts": [1, True, 3]}, "turn_starts[1]: expected a number"),
        ({"turn_starts": [1, -2]}, "turn_starts[1]: must not be negative"),
        ({"turn_starts": [5, 3]}, "turn_starts[1]: 3 s comes before the previous 5 s"),
        ({"turn_starts": ["soon"]}, "turn_starts[0]: expected a number"),
        ({"turns": [{"start": 1}]}, "turns[0]: missing 'speaker'"),
        ({"turns": [{"start": 1, "speaker": "moderator"}]}, "turns[0].speaker: expected one of"),
        ({"turns": [{"start": 9, "speaker": "host"}, {"start": 2, "speaker": "guest"}]},
         "turns[1]: 2 s comes before"),
        ({"glossary": {"scale": [{"x": 1}]}}, "glossary.scale[0]: expected a string"),
        ({"glossary": ["musk"]}, "glossary: expected an object"),
        ({"glossary": {"scale": []}}, "glossary.scale: needs at least 1 item"),
        ({"terms": "卡帕西"}, "terms: expected a list"),
        ({"terms": ["x"] * 1_000_000}, "the limit is"),  # 10⁶ terms: past the size bound
        ({"terms": ["x"] * 10_001}, "terms: more than 10,000 items"),
        ({"terms": [" "]}, "terms[0]: must contain a visible character"),
        ({"host": "Q"}, "host: expected an object"),
        ({"guest": {"name": "Andrej", "labels": "卡帕西"}}, "guest.labels: expected a list"),
        ({"guest": {"labels": ["a:b"]}}, "guest.labels[0]: a speaker label"),
        ({"language": "klingon"}, "language: expected one of"),
        ({"format": "pdf"}, "format: expected one of"),
        ({"gest": {}}, "(top level): unknown key 'gest'"),
    ],
)
def test_bad_values_are_refused_with_file_line_and_key_path(tmp_path, change, expected):
    path = write(tmp_path, SEED_META | change)
    message = refused(path)
    assert expected in message, message
    key = next(iter(change))
    if "the limit is" not in expected:
        text = meta_path_for(path).read_text(encoding="utf-8")
        line = text[: text.index(f'"{key}":')].count("\n") + 1
        assert message.startswith(f"{meta_path_for(path)}:{line}: "), message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than"),
        ('{"a": ' * 20 + "1" + "}" * 20, "nested deeper than"),
        ('{"turn_starts": [' + "9" * 5000 + "]}", "more than 15 digits"),
        ('{"turn_starts": [1e999]}', "too large to be finite"),
        ('{"turn_starts": [NaN]}', "NaN is not a number"),
        ('{"turn_starts": [Infinity]}', "Infinity is not a number"),
    ],
)
def test_json_bounds_are_one_line_errors(tmp_path, text, expected):
    message = refused(write(tmp_path, text))
    assert expected in message


def test_a_huge_file_is_refused_without_reading_it_whole(tmp_path):
    path = write(tmp_path, b'{"title": "' + b"x" * (MAX_META_BYTES * 3) + b'"}')
    assert f"{MAX_META_BYTES:,}" in refused(path)


def test_invalid_utf8_metadata_is_one_line(tmp_path):
    assert "not valid UTF-8" in refused(write(tmp_path, b'{"title": "\xff"}'))


def test_schema_keys_match_what_the_loader_reads():
    """Every key the schema allows is one TranscriptMeta uses (and nothing else is allowed):
    a new metadata key goes into the SCHEMA and into TranscriptMeta together."""
    import dataclasses

    from bot.formats.metadata import TranscriptMeta

    people = {"host_name", "guest_name", "host_labels", "guest_labels"}  # under host / guest
    loaded = {f.name for f in dataclasses.fields(TranscriptMeta)} - people | {"host", "guest"}
    assert set(SCHEMA["properties"]) == loaded
    assert set(SCHEMA["properties"]) >= {"passage_starts", "aliases"}


def test_numeric_title_or_url_never_reach_a_transcript(tmp_path):
    """Before the schema, these loaded and crashed /ask and topics later."""
    for change in ({"title": 7}, {"video_url": 7}, {"video_url": "javascript:alert(1)"}):
        path = write(tmp_path, SEED_META | change)
        with pytest.raises(TranscriptError, match=re.escape(next(iter(change)))):
            load_transcript(path)
