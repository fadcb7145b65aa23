"""A question's words (`ChineseTokenizer.words`): question words fused with their ask."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.chinese import (
    A_NOT_A_RE,
    QUESTION_WORD_PREFIX_RE,
    ChineseTokenizer,
    _asked_once,
)


@pytest.fixture(scope="module")
def tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer(["多模态"])


@pytest.mark.parametrize(
    ("question", "kept", "gone"),
    [
        ("还能提高多少倍", "倍", "多少倍"),
        ("梅西拿过几次金球奖", "次", "几次"),
        ("大家在摸索哪些方面", "摸索", "哪些方面"),  # 方面 is a stop word itself
        ("多模态模型几乎都能做", "几乎", "乎"),  # not a question word: left alone
        ("多模态模型几乎都能做", "多模态", "模态"),
        ("哪怕是小公司", "哪怕", "怕"),
    ],
)
def test_the_question_word_is_framing_and_what_it_asks_about_stays(
    tokenizer, question, kept, gone
):
    words = [w for w, _ in tokenizer.words(question)]
    assert kept in words and gone not in words


@pytest.mark.parametrize(
    ("question", "asked"),
    [("在他手下扩招难不难", "难"), ("他喜不喜欢开会", "喜欢"), ("这个方法好不好用", "好用")],
)
def test_an_a_not_a_question_asks_about_a_once(tokenizer, question, asked):
    words = [w for w, _ in tokenizer.words(question)]
    assert asked in words
    assert not any(w.startswith(("不", "没")) for w in words)


def test_the_common_a_not_a_forms_are_left_to_the_stop_list():
    for common in ("能不能成", "是不是第一", "有没有提到", "会不会赢"):
        assert A_NOT_A_RE.sub(_asked_once, common) == common


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="多少几哪些个次倍什么样方面模型公司怎么久远大长乎怕", max_size=12))
def test_no_word_of_a_question_starts_with_a_question_word(tokenizer, question):
    for word, tokens in tokenizer.words(question):
        assert not QUESTION_WORD_PREFIX_RE.match(word)
        assert word and word in tokens
