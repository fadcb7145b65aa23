"""The on-disk index cache: written once, reloaded while the data is unchanged, rebuilt when
the data changes or the cache is damaged, and never a source of different answers."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.library import Library

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SEED_NAME = "karpathy-sequoia-ai-ascent-2024.zh.txt"
LAST_GUEST_LINE = "老实说,离开这样的环境去一家普通公司,你真的会想念这些独特的地方。"
QUESTIONS = [
    "马斯克对开会是什么态度?",
    "规模重要吗?",
    "大模型需要什麼樣的硬體?",
    "赛艇队的笑话",
    "What does Karpathy think about scale?",
    "今天北京天气怎么样?",
    # Characters the interview never uses: segmented with the corpus's slice of jieba's
    # dictionary either way, so a fresh build and a cache load must agree on these too.
    "世界杯冠军是谁?",
    "马斯克偏好多大规模的团队?",
]
LOADED = "loaded index"


def copy_data(target: Path) -> Path:
    """Copy the bundled transcripts, keeping modification times (the cache key uses them)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in DATA_DIR.iterdir():
        if item.is_file() and item.suffix in (".txt", ".json"):
            shutil.copy2(item, target / item.name)
    return target


def cache_files(cache: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(cache.iterdir())}


def answers(library: Library) -> list:
    """Everything a user would see for QUESTIONS, in a comparable form."""
    out = []
    for question in QUESTIONS:
        for speaker in ("guest", "any"):
            answer = library.ask(question, top=5, speaker=speaker)
            out.append(
                [(h.passage.id, round(h.score, 9), h.snippet, h.highlights) for h in answer.hits]
            )
    return out


def loaded_from_cache(caplog) -> bool:
    return any(LOADED in r.getMessage() for r in caplog.records if r.name == "bot.index_cache")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, Library]:
    """A data copy whose cache was written by a first load (data, cache, library)."""
    data = copy_data(tmp_path_factory.mktemp("cache-data"))
    cache = tmp_path_factory.mktemp("cache") / "index"
    library = Library.load(data, cache_dir=cache)
    return data, cache, library


@pytest.fixture
def fresh_copy(built, tmp_path) -> tuple[Path, Path]:
    """A private copy of the data and its valid cache, for tests that damage either."""
    data, cache, _ = built
    data_copy = tmp_path / "data"
    data_copy.mkdir()
    for item in data.iterdir():
        if item.is_file():
            shutil.copy2(item, data_copy / item.name)
    cache_copy = tmp_path / "index"
    shutil.copytree(cache, cache_copy)
    return data_copy, cache_copy


def test_first_load_writes_the_cache(built):
    _, cache, library = built
    names = set(cache_files(cache))
    assert {"manifest.json", "library.json", "zh.text.npz", "zh.context.npz",
            "zh.turn.npz", "zh.rows.npz"} <= names
    assert len(library.passages) == 76


def test_second_load_reuses_the_cache_without_rewriting_it(built, caplog):
    data, cache, first = built
    before = cache_files(cache)
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        second = Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog)
    assert cache_files(cache) == before
    assert second.passages == first.passages
    assert answers(second) == answers(first)


def test_copied_cache_is_valid_for_a_copy_with_the_same_files(fresh_copy, caplog):
    data, cache = fresh_copy
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog)


def test_changed_transcript_triggers_a_rebuild_and_new_text_is_searchable(fresh_copy, caplog):
    data, cache = fresh_copy
    transcript = data / SEED_NAME
    text = transcript.read_text(encoding="utf-8")
    added = "另外,我家里还养了一只叫皮皮的柯基犬,它每天早上都叫我起床。"
    transcript.write_text(
        text.replace(LAST_GUEST_LINE, LAST_GUEST_LINE + "\n" + added), encoding="utf-8"
    )
    manifest_before = (cache / "manifest.json").read_text()
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data, cache_dir=cache)
    assert not loaded_from_cache(caplog)
    assert (cache / "manifest.json").read_text() != manifest_before
    assert len(library.passages) == 77
    hit = library.ask("柯基犬叫什么名字?").hits[0]
    assert hit.passage.text == added
    assert hit.passage.role == "guest"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        again = Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog)
    assert again.ask("柯基犬叫什么名字?").hits[0].passage.text == added


def test_changed_metadata_triggers_a_rebuild(fresh_copy, caplog):
    data, cache = fresh_copy
    meta = data / SEED_NAME.replace(".txt", ".meta.json")
    meta.write_text(
        meta.read_text(encoding="utf-8").replace(
            '"video_url": null', '"video_url": "https://example.com/v"'
        ),
        encoding="utf-8",
    )
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data, cache_dir=cache)
    assert not loaded_from_cache(caplog)
    assert library.transcripts[0].video_url == "https://example.com/v"


@pytest.mark.parametrize("damaged", ["zh.text.npz", "library.json"])
def test_corrupted_cache_is_rebuilt_not_trusted(built, fresh_copy, damaged, caplog):
    data, cache = fresh_copy
    (cache / damaged).write_bytes(b"this is not an index \x00\xff" * 8)
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data, cache_dir=cache)
    assert not loaded_from_cache(caplog)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "rebuilding" in warnings[0].getMessage()
    assert warnings[0].exc_info is None and "\n" not in warnings[0].getMessage()
    assert answers(library) == answers(built[2])
    if damaged.endswith(".npz"):
        with np.load(cache / damaged) as repaired:  # rewritten, valid again
            assert repaired.files
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog)


def test_results_are_identical_with_and_without_the_cache(built, tmp_path, caplog):
    data, cache, _ = built
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        cached = Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog)
    uncached = Library.load(data, cache_dir=tmp_path / "unused", use_cache=False)
    assert not (tmp_path / "unused").exists()
    assert uncached.passages == cached.passages
    assert uncached.transcripts == cached.transcripts
    assert answers(uncached) == answers(cached)
    assert [t.to_json() for t in uncached.topics()] == [t.to_json() for t in cached.topics()]
    typed = "我必須懇求他允許我招人"
    assert uncached.find_quote(typed) == cached.find_quote(typed)


def test_default_cache_is_in_the_user_cache_dir_never_beside_the_data(fresh_copy, caplog):
    data, _ = fresh_copy
    import platformdirs

    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data)
        Library.load(data)
    assert loaded_from_cache(caplog)
    assert not (data / ".index").exists()
    assert sorted(p.name for p in data.iterdir()) == sorted(
        p.name for p in DATA_DIR.iterdir() if p.suffix in (".txt", ".json")
    )
    root = Path(platformdirs.user_cache_dir("interview-quote-bot"))
    assert any(str(root) in r.getMessage() for r in caplog.records)
    assert len(library.passages) == 76


def test_one_changed_character_in_the_cached_transcripts_is_caught(built, fresh_copy, caplog):
    """The marshal file still loads after the edit; only its recorded hash tells."""
    import marshal

    data, cache = fresh_copy
    rows = marshal.loads((cache / "transcripts.marshal").read_bytes())
    blob = marshal.dumps(rows)
    said = "马斯克".encode()
    at = blob.index(said)
    forged = blob[:at] + "马斯可".encode() + blob[at + len(said):]
    marshal.loads(forged)  # still a valid marshal file
    (cache / "transcripts.marshal").write_bytes(forged)
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data, cache_dir=cache)
    assert not loaded_from_cache(caplog)
    assert any("transcripts.marshal changed" in r.getMessage() for r in caplog.records)
    assert [p.text for p in library.passages] == [p.text for p in built[2].passages]


def test_jieba_never_reads_a_cache_in_the_shared_temp_dir(tmp_path, monkeypatch):
    """A planted $TMPDIR/jieba.cache (marshal, read whoever wrote it) changes nothing."""
    import marshal
    import tempfile

    from bot.textnorm import ChineseTokenizer, jieba_cache_dir

    planted = tmp_path / "shared-tmp"
    planted.mkdir()
    (planted / "jieba.cache").write_bytes(marshal.dumps(({"开会": 1, "马斯克开会": 10**9}, 10)))
    monkeypatch.setattr(tempfile, "tempdir", str(planted))
    tokenizer = ChineseTokenizer()
    assert tokenizer._jieba.tmp_dir == jieba_cache_dir()
    assert not jieba_cache_dir().startswith(str(planted))
    assert "马斯克开会" not in tokenizer.dictionary[0]
    assert tokenizer.dictionary[1] > 10
