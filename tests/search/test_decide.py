"""The three-way decision (`bot.search.rank.decide`): its thresholds, and that more evidence
never gives a weaker reply."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.search.rank import (
    ANSWER,
    ANSWER_COSINE,
    ANSWER_MIN_COVERAGE,
    CLOSEST,
    CLOSEST_ALONE_COSINE,
    CLOSEST_COSINE,
    CLOSEST_MIN_COVERAGE,
    CLOSEST_MIN_EVIDENCE,
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
    assert decide(ANSWER_MIN_COVERAGE, ANSWER_COSINE) == ANSWER
    assert decide(0.0, ANSWER_COSINE) == CLOSEST  # as similar, but not one word in common


def test_a_closest_passage_needs_similarity_and_a_shared_word_or_much_similarity():
    assert decide(CLOSEST_MIN_EVIDENCE, CLOSEST_COSINE) == CLOSEST
    assert decide(0.0, CLOSEST_COSINE) == NOT_COVERED
    assert decide(0.0, CLOSEST_ALONE_COSINE) == CLOSEST
    assert decide(CLOSEST_MIN_EVIDENCE - 0.01, CLOSEST_ALONE_COSINE - 0.001) == NOT_COVERED


@given(unit, unit, unit, unit)
def test_more_evidence_never_gives_a_weaker_reply(coverage, similarity, more_c, more_s):
    weaker = decide(coverage, similarity)
    stronger = decide(min(1.0, coverage + more_c), min(1.0, similarity + more_s))
    assert STRENGTH[stronger] >= STRENGTH[weaker]
    assert STRENGTH[decide(coverage, similarity)] >= STRENGTH[decide(coverage, None)]
