"""The memory-mapped tables of `bot.packed`: what goes in comes out, from memory and disk."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.model import Passage, Turn
from bot.packed import (
    PackedCounts,
    PackedLexicon,
    PackedStrings,
    RecordTable,
    StringIndex,
    files,
)

# Surrogates cannot be UTF-8: no stored string has one.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, unique=True, max_size=60), st.lists(TEXT, max_size=20))
def test_a_string_index_finds_every_string_and_nothing_else(strings, others):
    index = StringIndex.build(strings)
    assert [index.position(s) for s in strings] == list(range(len(strings)))
    assert list(index.strings) == strings
    for other in others:
        assert index.position(other) == (strings.index(other) if other in strings else -1)


def test_a_string_index_refuses_what_can_never_be_stored():
    index = StringIndex.build(["a", "语言"])
    assert index.position("\ud800") == -1 and index.position(3) == -1 and "b" not in index


def test_tables_round_trip_through_files(tmp_path: Path):
    counts = {"语言": 5, "语": 0, "llm": 2**40}
    PackedCounts.build(counts).save(tmp_path, "jieba")
    lexicon = {"scale": [("规模", 1.0), ("尺度", 0.1 + 0.2)], "gpu": []}
    PackedLexicon.build(lexicon).save(tmp_path, "lexicon")
    passages = [
        Passage(f"t/p{i}", "t", i, f"第{i}段", "guest" if i % 2 else "host", "K", "节", i // 2,
                "问?", "https://v", None if i == 3 else i * 1.5, i + 7, "zh")
        for i in range(7)
    ]
    turns = [Turn(i, "host", "Q", "节", i * 3, tuple(range(i)), "问" * i, None) for i in range(4)]
    RecordTable.pack(Passage, passages).save(tmp_path, "passages")
    RecordTable.pack(Turn, turns).save(tmp_path, "turns")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*files("jieba", PackedCounts), *files("lexicon", PackedLexicon),
         *RecordTable.files(Passage, "passages"), *RecordTable.files(Turn, "turns")]
    )
    loaded = PackedCounts.load(tmp_path, "jieba")
    assert dict(loaded) == counts and loaded.get("模型") is None and "语" in loaded
    assert dict(PackedLexicon.load(tmp_path, "lexicon")) == lexicon
    table = RecordTable.load(Passage, tmp_path, "passages")
    assert list(table) == passages and table == tuple(passages)
    assert list(RecordTable.load(Turn, tmp_path, "turns")) == turns
    view = table.view(2, 5)
    assert list(view) == passages[2:5] and view[-1] == passages[4] and view[1:] == tuple(
        passages[3:5])
    assert view.position("t/p3") == 1 and view.position("t/p6") == -1
    assert view.field_is("role", "host").tolist() == [True, False, True]
    assert not view.field_is("role", "editor").any()
    assert view.numbers_of("turn").tolist() == [p.turn for p in passages[2:5]]
    assert table.numbers_of("line").tolist() == [p.line for p in passages]
    with pytest.raises(IndexError):
        view[3]


def test_a_damaged_table_is_refused(tmp_path: Path):
    PackedStrings.pack(["ab", "c"]).save(tmp_path, "s")
    np.save(tmp_path / "s.offsets.npy", np.array([0, 2, 9], dtype=np.int64))
    with pytest.raises(ValueError, match="do not match"):
        PackedStrings.load(tmp_path, "s")


LOAD = """
import sys
from pathlib import Path
from bot.model import Passage
from bot.packed import RecordTable
table = RecordTable.load(Passage, Path(sys.argv[1]), "passages")
assert table[-1].text == "x" * 4000
for line in open("/proc/self/smaps"):
    if "blob.npy" in line:
        print(line.strip())
"""


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux only")
def test_a_loaded_table_maps_its_files_rather_than_copying_them():
    with tempfile.TemporaryDirectory() as folder:
        passages = [Passage(f"t/p{i}", "t", i, "x" * 4000, "guest", "K", "", 0, "", "")
                    for i in range(200)]
        RecordTable.pack(Passage, passages).save(Path(folder), "passages")
        out = subprocess.run([sys.executable, "-c", LOAD, folder], capture_output=True,
                             text=True, check=True).stdout
    assert "passages.pool.blob.npy" in out  # a shared mapping of the file, not a copy


def test_empty_tables_round_trip(tmp_path: Path):
    """An English-only library has no synonyms; a caption file may have no turns."""
    PackedLexicon.build({}).save(tmp_path, "synonyms")
    PackedCounts.build({}).save(tmp_path, "counts")
    RecordTable.pack(Turn, []).save(tmp_path, "turns")
    assert dict(PackedLexicon.load(tmp_path, "synonyms")) == {}
    assert PackedCounts.load(tmp_path, "counts").get("a") is None
    assert list(RecordTable.load(Turn, tmp_path, "turns")) == []
