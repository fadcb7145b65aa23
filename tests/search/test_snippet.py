"""Snippets: trimming at sentence boundaries, highlight spans, and adapter-side marking."""

from __future__ import annotations

import html

import pytest

from bot.formats.datadir import load_transcript
from bot.search.snippet import ELLIPSIS, best_window, find_spans, mark
from bot.text.normalize import normalize
from bot.text.sentences import split_sentences
from tests.paths import SEED


@pytest.fixture(scope="module")
def seed():
    return load_transcript(SEED)


@pytest.fixture(scope="module")
def long_passage(seed) -> str:
    """The seed's longest paragraph (the iPhone-apps one, 221 characters)."""
    return max((p.text for p in seed.passages), key=len)


@pytest.fixture(scope="module")
def musk_answer(seed) -> str:
    """The whole last answer (about Musk) as one long text, well over the 300-char window."""
    turn = seed.turns[-1]
    return "".join(seed.passages[i].text for i in turn.passage_indices)


def test_sentences_concatenate_back_to_the_text(long_passage, musk_answer):
    for text in (long_passage, musk_answer, "No punctuation at all", "Hi. There? 好!"):
        sentences = split_sentences(text)
        assert "".join(sentences) == text
    assert split_sentences("第一句。第二句?第三句") == ["第一句。", "第二句?", "第三句"]
    assert split_sentences("Version 1.0 ships. Then 2.0!") == ["Version 1.0 ships.", " Then 2.0!"]


def test_short_passage_is_returned_whole(long_passage):
    snippet, spans = best_window(long_passage, {"评估": 3.0})
    assert snippet == long_passage
    assert [snippet[s:e] for s, e in spans] == ["评估"]


def test_long_passage_is_trimmed_at_sentence_boundaries_around_the_best_sentence(long_passage):
    snippet, spans = best_window(long_passage, {"评估": 3.0, "类比": 0.5}, max_chars=60)
    assert snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    window = snippet.strip(ELLIPSIS)
    assert window in long_passage
    assert "评估应该是什么样的?" in window
    assert len(window) <= 60
    # Boundaries: the window starts right after a sentence end and ends with one.
    start = long_passage.index(window)
    assert long_passage[start - 1] in "。?!"
    assert window[-1] in "。?!"
    assert "类比" not in window  # the weaker term's sentence (the first) is too far away
    assert [snippet[s:e] for s, e in spans] == ["评估"]


def test_window_prefers_the_sentence_with_the_rarest_terms(musk_answer):
    assert len(musk_answer) > 300
    snippet, spans = best_window(musk_answer, {"黄仁勋": 5.0, "会议": 1.0})
    assert "黄仁勋" in snippet
    assert len(snippet) <= 300 + 2 * len(ELLIPSIS)
    assert snippet.startswith(ELLIPSIS)
    assert any(snippet[s:e] == "黄仁勋" for s, e in spans)


def test_window_at_the_start_has_no_leading_ellipsis(musk_answer):
    snippet, _ = best_window(musk_answer, {"独特": 2.0}, max_chars=80)
    assert snippet.startswith("我想说马斯克管理公司的方式非常独特。")
    assert snippet.endswith(ELLIPSIS)


def test_one_long_sentence_is_cut_with_an_ellipsis():
    text = "这" * 400
    snippet, _ = best_window(text, {"这": 1.0})
    assert len(snippet) == 300 and snippet.endswith(ELLIPSIS)


def test_spans_find_terms_through_script_and_width_differences():
    text = "构建更合适的硬體,在 ＧＰＵ 上运行,LLM OS 很重要"
    spans = find_spans(text, ["硬件", "gpu", "llm_os"])
    assert [text[s:e] for s, e in spans] == ["硬體", "ＧＰＵ", "LLM OS"]
    for start, end in spans:
        assert normalize(text[start:end]) in {"硬件", "gpu", "llm os"}


def test_ascii_terms_match_whole_words_only():
    text = "Windows、macOS 这样闭源的系统,也有开源的 Linux 和 OS"
    spans = find_spans(text, ["os", "linux"])
    assert [text[s:e] for s, e in spans] == ["Linux", "OS"]


def test_spans_do_not_overlap_and_longer_terms_win():
    text = "大语言模型是新时代的 CPU"
    spans = find_spans(text, ["模型", "大语言模型", "语言"])
    assert [text[s:e] for s, e in spans] == ["大语言模型"]


def test_mark_wraps_spans_and_escapes_everything_else():
    text = "a<b> 会议 & <i>马斯克</i>"
    spans = find_spans(text, ["会议", "马斯克"])
    marked = mark(text, spans, before="<mark>", after="</mark>", escape=html.escape)
    assert marked == "a&lt;b&gt; <mark>会议</mark> &amp; &lt;i&gt;<mark>马斯克</mark>&lt;/i&gt;"


def test_mark_escapes_inside_highlights_too_and_skips_overlaps():
    marked = mark("x*y*z", [(1, 4), (2, 3)], escape=lambda s: s.replace("*", r"\*"))
    assert marked == r"x**\*y\***z"
    assert mark("plain", []) == "plain"
