"""rjieba (jieba-rs) may only speed up indexing: its tokens must equal jieba's, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench import TRANSCRIPT, _SentenceMaker
from bot.formats.metadata import load_meta
from bot.text.chinese import ChineseTokenizer

pytest.importorskip("rjieba")


@pytest.fixture(scope="module")
def tokenizers() -> tuple[ChineseTokenizer, ChineseTokenizer]:
    terms = load_meta(TRANSCRIPT).terms
    reference = ChineseTokenizer(terms)
    accelerated = ChineseTokenizer(terms)
    assert accelerated.accelerate()
    return reference, accelerated


def _lines() -> list[str]:
    return [line for line in TRANSCRIPT.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_identical_tokens_on_the_bundled_interview(tokenizers):
    reference, accelerated = tokenizers
    for line in _lines():
        assert accelerated.tokens(line) == reference.tokens(line), line


def test_identical_tokens_on_synthetic_text(tokenizers):
    reference, accelerated = tokenizers
    maker = _SentenceMaker(np.random.default_rng(5))
    for _ in range(3000):
        text = maker.sentence()
        assert accelerated.tokens(text) == reference.tokens(text), text


def test_characters_outside_jiebas_han_range_fall_back_to_jieba(tokenizers):
    # jieba-rs treats 䴓 (U+4D13) as Han, Python jieba does not; jieba decides.
    reference, accelerated = tokenizers
    text = "易合易红红的所存䴓半低不高伊特鲁扛上去"
    assert accelerated.tokens(text) == reference.tokens(text)


def test_custom_terms_stay_whole(tokenizers):
    _, accelerated = tokenizers
    assert "卡帕西" in accelerated.tokens("卡帕西说奇异值分解很重要")
    assert "奇异值分解" in accelerated.tokens("卡帕西说奇异值分解很重要")


def test_restricting_the_dictionary_drops_the_accelerator():
    # Questions are segmented with the restricted dictionary, by jieba, after a build.
    tokenizer, reference = ChineseTokenizer(["卡帕西"]), ChineseTokenizer(["卡帕西"])
    tokenizer.accelerate()
    for each in (tokenizer, reference):
        each.restrict_to(set("卡帕西说模型"))
    assert tokenizer._fast is None
    assert tokenizer.tokens("卡帕西说模型") == reference.tokens("卡帕西说模型")


@pytest.mark.parametrize("many", [0, 10**9])  # the one-regex path, and word by word
def test_restricting_keeps_exactly_the_words_made_of_the_characters(monkeypatch, many):
    from bot.text import chinese

    monkeypatch.setattr(chinese, "_MANY_CHARACTERS", many)
    freq, _ = chinese._jieba_dictionary()
    rng = np.random.default_rng(3)
    every = sorted(set("".join(freq)))
    characters = set(every) - set(rng.choice(every, size=40, replace=False).tolist())
    expected = {w: f for w, f in freq.items() if characters.issuperset(w)}
    kept = chinese._restricted(freq, characters)
    assert list(kept.items()) == list(expected.items())  # the same words, in the same order
    odd = {"": 1, "a": 2, "a]b": 3, "^": 4, "\\": 5, "-x": 6, "b-": 7}
    for chars in (set("a]^-"), set("ab\\-"), set()):
        assert chinese._restricted(odd, chars) == {
            w: f for w, f in odd.items() if chars.issuperset(w)
        }
    assert chinese._restricted({"q\nr": 1, "q": 2}, set("qr")) == {"q": 2}


def test_a_new_machine_reads_jiebas_dictionary_in_a_forked_process(tmp_path):
    # Forking needs a process without threads: a fresh interpreter with an empty cache dir.
    import json
    import os
    import subprocess
    import sys

    from tests.paths import REPO

    code = """
import json
from bot.text import chinese
wait = chinese.prefetch_dictionary()
ok = wait is not None and wait()
cached = (chinese.Path(chinese.jieba_cache_dir()) / chinese.JIEBA_CACHE_FILE).exists()
again = chinese.prefetch_dictionary() is None
tokens = chinese.ChineseTokenizer(["卡帕西"]).tokens("卡帕西说大语言模型很重要")
print(json.dumps({"ok": ok, "cached": cached, "again": again, "tokens": tokens}))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "prefix dict" not in done.stderr  # jieba's start-up chatter stays silent
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["ok"] and found["cached"] and found["again"]
    assert found["tokens"] == ChineseTokenizer(["卡帕西"]).tokens("卡帕西说大语言模型很重要")


def test_a_restricted_dictionary_still_knows_every_stop_word():
    """An interview that never writes 底 must still read 到底 ("after all") as one stop word
    in a question, not leave 底 behind as a word it never mentions."""
    from bot.text.chinese import CHINESE_STOP_WORDS

    corpus = "卡帕西说模型到处都是"  # 到 but no 底, 究 or 竟
    tokenizer, full = ChineseTokenizer(["卡帕西"]), ChineseTokenizer(["卡帕西"])
    tokenizer.restrict_to(set(corpus))
    assert "到底" in CHINESE_STOP_WORDS and "究竟" in CHINESE_STOP_WORDS
    for question in ("卡帕西到底说模型吗", "模型究竟是什么"):
        words = [w for w, _ in tokenizer.words(question)]
        assert words == [w for w, _ in full.words(question)]
        assert "底" not in words and "竟" not in words
    assert tokenizer.tokens(corpus) == full.tokens(corpus)  # the corpus itself: unchanged
