"""The English token pipeline: what a question and its answer must have in common."""

from __future__ import annotations

import snowballstemmer

from bot.text.english import ENGLISH_STOP_WORDS, stem, tokenize_english


def test_question_and_answer_share_the_content_word() -> None:
    question = tokenize_english("Does scale matter?")
    answer = tokenize_english("So I would say scale is definitely number one.")
    assert set(question) & set(answer) == {"scale"}


def test_inflections_reduce_to_one_stem() -> None:
    assert tokenize_english("meetings") == tokenize_english("meeting") == ["meet"]
    assert tokenize_english("scaling") == tokenize_english("scaled") == tokenize_english("scale")


def test_stop_and_question_words_are_dropped() -> None:
    assert tokenize_english("What is the how does do it") == []
    assert tokenize_english("How do I bake sourdough bread?") == ["bake", "sourdough", "bread"]
    assert {"what", "how", "does", "do", "is", "the"} <= ENGLISH_STOP_WORDS


def test_case_and_width_are_folded() -> None:
    assert tokenize_english("GPU Elon LLM") == tokenize_english("gpu elon llm")
    assert tokenize_english("ＧＰＵ") == ["gpu"]  # full-width letters, as pasted from CJK text


def test_possessives_are_dropped_with_either_apostrophe() -> None:
    assert tokenize_english("Karpathy's view") == tokenize_english("Karpathy view")
    assert tokenize_english("Elon\u2019s meetings") == ["elon", "meet"]
    assert tokenize_english("it's that's") == []


def test_numbers_and_mixed_tokens_survive() -> None:
    assert tokenize_english("from 64 bits to 1.5 bits on GPT-4") == [
        "64", "bit", "1.5", "bit", "gpt", "4",
    ]


def test_stems_match_the_pure_python_snowball_fallback() -> None:
    fallback = snowballstemmer.stemmer("english")
    for word in ["definitely", "meetings", "generously", "karpathy", "optimization"]:
        assert stem(word) == fallback.stemWord(word)
