"""`bot.search.rank._contains` must answer exactly what ``np.isin`` did, only faster."""

from __future__ import annotations

import numpy as np
import pytest

from bot.search.rank import _contains


@pytest.mark.parametrize("seed", range(20))
def test_contains_equals_isin(seed):
    rng = np.random.default_rng(seed)
    n_docs = int(rng.integers(1, 500))
    postings = np.unique(rng.integers(0, n_docs, size=int(rng.integers(0, n_docs + 1))))
    postings = postings.astype(np.int32)
    rows = rng.integers(0, n_docs, size=int(rng.integers(0, 60)))
    assert np.array_equal(_contains(postings, rows), np.isin(rows, postings))
