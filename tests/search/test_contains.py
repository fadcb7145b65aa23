"""`bot.search.rank`: `_contains` answers exactly what ``np.isin`` did, and `best_first` what a
stable argsort did, only faster."""

from __future__ import annotations

import numpy as np
import pytest

from bot.search.rank import _contains, best_first


@pytest.mark.parametrize("seed", range(20))
def test_contains_equals_isin(seed):
    rng = np.random.default_rng(seed)
    n_docs = int(rng.integers(1, 500))
    postings = np.unique(rng.integers(0, n_docs, size=int(rng.integers(0, n_docs + 1))))
    postings = postings.astype(np.int32)
    rows = rng.integers(0, n_docs, size=int(rng.integers(0, 60)))
    assert np.array_equal(_contains(postings, rows), np.isin(rows, postings))


@pytest.mark.parametrize("seed", range(30))
def test_best_first_equals_a_stable_argsort(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 400))
    # Few distinct values, zeros and -inf: ties everywhere, as in real fused scores.
    scores = rng.choice([0.0, 0.25, 0.5, 1.0, -np.inf], size=size) * rng.integers(1, 3, size=size)
    for count in (0, 1, 3, 10, size - 1, size, size + 5):
        expected = np.argsort(-scores, kind="stable")[: max(count, 0)]
        assert np.array_equal(best_first(scores, count), expected), (count, scores)
