"""Highlights that render: matched words side by side are one bold run, never ``****``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.frontends.discord.render import escape, marked_snippet
from bot.frontends.i18n import ENGLISH, translations
from bot.frontends.text_render import render_hit
from bot.model import Hit, Passage
from bot.search.snippet import find_spans, mark, merge_spans

TEXT = "我想说马斯克管理公司的方式非常独特。"
WORDS = ["马斯克", "管理", "公司", "方式", "独特", "规模", "模型", "GPU", "*", "_", "a b", "。"]


def hit(snippet: str, spans: tuple[tuple[int, int], ...]) -> Hit:
    passage = Passage("t/p0", "t", 0, snippet, "guest", "G", "S", 0, "", "")
    return Hit(passage=passage, score=1.0, snippet=snippet, highlights=spans)


def test_adjacent_words_are_one_bold_span_on_discord_and_in_the_terminal() -> None:
    spans = ((3, 6), (6, 8), (8, 10))  # 马斯克|管理|公司, as the search used to return them
    assert marked_snippet(hit(TEXT, spans)) == "我想说**马斯克管理公司**的方式非常独特。"
    assert "【马斯克管理公司】" in render_hit(translations(ENGLISH), hit(TEXT, spans))
    assert find_spans(TEXT, ["马斯克", "管理", "公司"]) == [(3, 10)]  # merged at the source


def test_real_answers_never_send_touching_markers(library) -> None:
    answer = library.ask("马斯克管理公司", top=5)
    assert answer.hits
    for found in answer.hits:
        assert "****" not in marked_snippet(found)
    (whole,) = [h for h in answer.hits if "马斯克管理公司" in h.passage.text]
    assert "**马斯克管理公司**" in marked_snippet(whole)


def test_separate_words_stay_separate() -> None:
    assert merge_spans([(0, 2), (3, 5)]) == [(0, 2), (3, 5)]
    assert merge_spans([(3, 5), (0, 3), (4, 9), (9, 9)]) == [(0, 9)]


quick = settings(max_examples=300, deadline=None)

spans_strategy = st.lists(st.tuples(st.integers(-3, 60), st.integers(-3, 60)), max_size=12)
texts = st.text(
    alphabet=st.sampled_from(list("马斯克管理公司规模 ab*_~`|>\\。,") + ["\n"]), max_size=50
)


@quick
@given(text=texts, spans=spans_strategy)
def test_marking_never_lets_markers_touch_and_keeps_the_text(text, spans) -> None:
    plain = mark(text.replace("【", "").replace("】", ""), spans, before="【", after="】")
    assert "】【" not in plain and "【】" not in plain
    assert plain.replace("【", "").replace("】", "") == text
    discord_text = mark(text, spans, escape=escape)
    assert "****" not in discord_text
    assert unmarked(discord_text) == text  # what Discord shows, bold aside, is the text


def unmarked(markdown: str) -> str:
    """Markdown as Discord reads it here: ``\\x`` is a literal x, ``**`` toggles bold."""
    out, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and i + 1 < len(markdown):
            out.append(markdown[i + 1])
            i += 2
        elif markdown.startswith("**", i):
            i += 2
        else:
            out.append(markdown[i])
            i += 1
    return "".join(out)


@quick
@given(
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=15),
    terms=st.lists(st.sampled_from(WORDS), max_size=6),
)
def test_found_spans_are_sorted_disjoint_and_never_touch(words, terms) -> None:
    text = "".join(words)
    spans = find_spans(text, terms)
    assert spans == sorted(spans)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert end < start
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert "****" not in mark(text, spans, escape=escape)
