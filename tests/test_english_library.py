"""A library of two interviews: the bundled Chinese article plus the English Whisper transcript.

The English transcript is shared material, never committed: the test ingests it with
``quotebot ingest --add`` into a temporary data dir and writes a turn table for it there,
as an operator would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.frontends.cli import main
from tests.paths import DATA_DIR, WHISPER_NAME, copy_bundled, shared_dir


def _whisper() -> Path:
    path = shared_dir() / "data" / WHISPER_NAME
    if not path.exists():
        pytest.skip(f"English Whisper transcript not found at {path}: English library not tested")
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    whisper = _whisper()
    target = copy_bundled(tmp_path_factory.mktemp("library"))
    # The operator's metadata for the English transcript: who speaks when. The times are the
    # bundled article's turn starts (host, guest, host, …); before the first, "unknown".
    zh_meta = json.loads((DATA_DIR / "karpathy-sequoia-ai-ascent-2024.zh.meta.json").read_text())
    staging = tmp_path_factory.mktemp("incoming")
    source = staging / "karpathy-sequoia-ai-ascent-2024.en.txt"
    shutil.copy2(whisper, source)
    meta = {
        "id": "karpathy-sequoia-2024-en",
        "title": "Andrej Karpathy at Sequoia AI Ascent 2024 (English captions)",
        "language": "en",
        "host": {"name": "Stephanie Zhan (Sequoia)"},
        "guest": {"name": "Andrej Karpathy"},
        "video_url": "https://www.youtube.com/watch?v=c3b-JASoPi0",
        "turns": [
            {"start": start, "speaker": "host" if i % 2 == 0 else "guest"}
            for i, start in enumerate(zh_meta["turn_starts"])
        ],
    }
    (staging / "karpathy-sequoia-ai-ascent-2024.en.meta.json").write_text(json.dumps(meta))
    assert main(["ingest", str(source), "--add", "--data-dir", str(target)]) == 0
    return target


def _ask(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> dict:
    capsys.readouterr()
    assert main(["ask", *args, "--json", "--data-dir", str(data_dir)]) == 0
    return json.loads(capsys.readouterr().out)


def test_ingest_add_copies_transcript_and_metadata(data_dir: Path) -> None:
    assert (data_dir / "karpathy-sequoia-ai-ascent-2024.en.txt").exists()
    assert (data_dir / "karpathy-sequoia-ai-ascent-2024.en.meta.json").exists()


def test_english_question_finds_english_passage_with_time(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    result = _ask(capsys, data_dir, "Does scale matter?", "--top", "3")
    assert result["answered"]
    hit = next(h for h in result["hits"] if "scale is definitely number one" in h["text"])
    assert hit["interview"].startswith("Andrej Karpathy at Sequoia")
    assert hit["role"] == "guest"
    assert abs(hit["start"] - 587) <= 5
    assert "&t=58" in hit["video_url"]


def test_elon_management_style_is_the_guest_on_musk(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    result = _ask(capsys, data_dir, "Elon management style")
    hit = result["hits"][0]
    assert hit["role"] == "guest" and hit["speaker"] == "Andrej Karpathy"
    assert hit["start"] >= 970  # the Musk answer starts at 16:10
    assert "elon" in hit["text"].lower() or "he" in hit["text"].lower().split()


def test_chinese_question_still_answers_from_chinese(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    result = _ask(capsys, data_dir, "规模是不是最重要的?")
    hit = result["hits"][0]
    assert hit["interview"].startswith("我的领导马斯克")
    assert hit["start"] == pytest.approx(587.9)
    assert hit["video_url"].endswith("&t=587s")


def test_interview_option_restricts_the_search(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    result = _ask(capsys, data_dir, "scale", "--interview", "karpathy-sequoia-2024")
    assert all(h["interview"].startswith("我的领导马斯克") for h in result["hits"])
    capsys.readouterr()
    assert main(["ask", "scale", "--interview", "nope", "--data-dir", str(data_dir)]) == 1
    assert "no interview called “nope”" in capsys.readouterr().err


def test_a_chinese_question_of_the_english_interview_finds_its_english_words(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    """Across languages the question is weighed against the background in the passages'
    language (English here), and a foreign one still gets nothing."""
    en = ("--interview", "karpathy-sequoia-2024-en", "--top", "3")
    result = _ask(capsys, data_dir, "马斯克对开会是什么态度?", *en)
    shown = result["hits"] or result["closest"]
    assert any("meeting" in h["text"].lower() for h in shown), shown
    assert all(h["interview"].startswith("Andrej Karpathy at Sequoia") for h in shown)
    weather = _ask(capsys, data_dir, "今天北京天气怎么样?", *en)
    assert not weather["answered"] and weather["closest"] == []


def test_topics_lists_both_interviews(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    capsys.readouterr()
    assert main(["topics", "--json", "--data-dir", str(data_dir)]) == 0
    ids = {t["id"] for t in json.loads(capsys.readouterr().out)["transcripts"]}
    assert ids == {"karpathy-sequoia-2024", "karpathy-sequoia-2024-en"}


def test_without_turn_table_speech_is_unknown_speaker(tmp_path: Path) -> None:
    from bot.formats.datadir import load_transcript

    source = tmp_path / "talk.en.txt"
    shutil.copy2(_whisper(), source)
    transcript = load_transcript(source)
    assert {p.role for p in transcript.passages} == {"unknown"}
    assert all(p.speaker == "unknown speaker" for p in transcript.passages)


@pytest.mark.parametrize("chinese", ["", "(模型)", "(卡帕西)"], ids=["none", "terms", "other"])
def test_an_english_build_saves_the_dictionary_of_a_whole_jieba_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chinese: str
) -> None:
    """An English library starts from `dictionary_for_terms`, not jieba's 500,000 words: its
    tokenizer (saved with the index, used for questions) is the same as when it started from
    the whole dictionary, with no Chinese in the text, Chinese the terms' characters can
    spell, or other Chinese (which does need the whole dictionary)."""
    import bot.library
    import bot.text.chinese
    from bot.library import Library
    from bot.text.chinese import ChineseTokenizer
    from tests.test_ingest import ENGLISH, article

    meta = {"id": "bees", "language": "en", "guest": {"name": "Zhou", "labels": ["Zhou"]}}
    article(tmp_path / "data", "bees.en.txt", text=ENGLISH + f"Zhou: Honey {chinese}.\n",
            meta=meta)
    monkeypatch.setattr(bot.text.chinese, "_jieba_dir", str(tmp_path / "jieba"))
    (tmp_path / "jieba").mkdir()
    built = Library.load(tmp_path / "data", use_cache=False).tokenizer.dictionary
    (cached,) = (tmp_path / "jieba").glob("terms-*.marshal")  # made from the whole, then read
    assert Library.load(tmp_path / "data", use_cache=False).tokenizer.dictionary == built

    def whole(terms):
        return (*ChineseTokenizer(terms).dictionary, frozenset(map(chr, range(0x3400, 0xFB00))))

    monkeypatch.setattr(bot.library, "dictionary_for_terms", whole)
    reference = Library.load(tmp_path / "data", use_cache=False).tokenizer.dictionary
    assert built == reference
    assert "模型" in built[0]  # the general vocabulary's 大模型 and 语言模型 spell it
    assert ("帕" in built[0]) is (chinese == "(卡帕西)")  # only then read from the whole
