"""Cilin synonyms: which question words get which interview words, on the real thesaurus."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.library import Library
from bot.search.query import QueryUnit
from bot.text.crosslingual import MAX_TRANSLATIONS
from bot.text.thesaurus import (
    MAX_SYNONYMS,
    build_cilin_synonyms,
    merge_synonyms,
    synonym_groups,
)


def test_the_real_thesaurus_groups_everyday_words_with_the_interviews_wording():
    groups = synonym_groups()
    assert len(groups) > 5000  # Cilin's "=" groups (9,988 in the shipped edition)
    synonyms = build_cilin_synonyms({"思考", "生活", "总共"})
    assert ("思考", 1.0) in synonyms["琢磨"]
    assert ("生活", 1.0) in synonyms["过日子"]
    assert ("总共", 1.0) in synonyms["一共"]


def test_only_words_the_interview_lacks_get_synonyms_and_only_words_it_has_are_targets():
    groups = [["思考", "琢磨", "思索"], ["生活", "过日子"]]
    synonyms = build_cilin_synonyms({"思考", "过日子"}, groups)
    assert synonyms == {"琢磨": [("思考", 1.0)], "思索": [("思考", 1.0)],
                        "生活": [("过日子", 1.0)]}
    assert "思考" not in synonyms  # the interview says it: no need to look further


def test_single_characters_never_take_part():
    synonyms = build_cilin_synonyms({"奔跑"}, [["跑", "奔跑", "逃"]])
    assert synonyms == {}  # 跑 is also "flee": one character, too many senses


def test_a_group_covering_many_interview_words_is_too_broad_to_use():
    broad = [f"词{i}" for i in range(MAX_TRANSLATIONS + 1)] + ["外词"]
    assert build_cilin_synonyms(set(broad[:-1]), [broad]) == {}
    narrow = broad[:MAX_TRANSLATIONS] + ["外词"]
    assert len(build_cilin_synonyms(set(narrow[:-1]), [narrow])["外词"]) == MAX_SYNONYMS


def test_merge_keeps_cedicts_synonyms_first_without_repeats_and_caps_the_count():
    cedict = {"差别": [("区别", 1.0)], "竞争": [("竞赛", 1.0)]}
    cilin = {"差别": [("区别", 1.0), ("差异", 1.0), ("不同", 1.0), ("分别", 1.0)],
             "琢磨": [("思考", 1.0)]}
    merged = merge_synonyms(cedict, cilin)
    assert merged == {"差别": [("区别", 1.0), ("差异", 1.0), ("不同", 1.0)],
                      "竞争": [("竞赛", 1.0)], "琢磨": [("思考", 1.0)]}
    assert cedict["差别"] == [("区别", 1.0)]  # inputs untouched


@given(st.lists(st.lists(st.text(alphabet="思考琢磨生活过日子一共总", min_size=1, max_size=3),
                         max_size=6), max_size=6),
       st.sets(st.text(alphabet="思考琢磨生活过日子一共总", min_size=1, max_size=3), max_size=6))
def test_every_synonym_is_an_interview_word_for_a_word_it_lacks(groups, vocabulary):
    synonyms = build_cilin_synonyms(vocabulary, groups)
    for word, targets in synonyms.items():
        assert word not in vocabulary and len(word) >= 2
        assert 1 <= len(targets) <= MAX_SYNONYMS
        assert all(t in vocabulary and len(t) >= 2 for t, _ in targets)
        assert len({t for t, _ in targets}) == len(targets)


def test_a_question_in_its_own_words_reaches_the_interviews_word(library: Library):
    """琢磨 (to mull over) is not in the interview; 思考 is, and the question now asks for it,
    for the partial credit synonyms get."""
    units = library.query.units(library.query.rewrite("他在琢磨什么"), "zh")
    mulled: list[QueryUnit] = [u for u in units if u.surface == "琢磨"]
    assert mulled and "思考" in mulled[0].tokens
    assert mulled[0].credit < 1.0
