"""BM25Index must score exactly like rank-bm25's BM25Okapi, quirks included, and stay so on disk."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from benchmarks.bench import main as bench_main
from benchmarks.bench import rankings_agree, synthetic_corpus, synthetic_queries
from bot.search.bm25 import BM25Index
from bot.text.chinese import tokenize
from tests.paths import SEED as TRANSCRIPT

TOLERANCE = 1e-9


def assert_same_scores(index: BM25Index, reference: BM25Okapi, query: list[str]) -> None:
    np.testing.assert_allclose(
        index.get_scores(query), reference.get_scores(query), rtol=0, atol=TOLERANCE
    )


def reference_top(scores: np.ndarray, k: int) -> list[int]:
    positive = np.flatnonzero(scores > 0)
    return positive[np.lexsort((positive, -scores[positive]))][:k].tolist()


def random_corpus(seed: int, n_docs: int = 120) -> list[list[str]]:
    """Skewed random documents: 'common' sits in most docs, some docs are empty."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(40)]
    corpus = []
    for _ in range(n_docs):
        doc = [rng.choice(vocabulary[: rng.randint(1, 40)]) for _ in range(rng.randint(0, 25))]
        if rng.random() < 0.8:
            doc.append("common")
        corpus.append(doc)
    return corpus


@pytest.fixture(scope="module")
def transcript_corpus() -> list[list[str]]:
    lines = TRANSCRIPT.read_text(encoding="utf-8").splitlines()
    return [tokenize(line) for line in lines if line.strip()]


def test_scores_match_bm25okapi_on_the_real_transcript(transcript_corpus):
    reference = BM25Okapi(transcript_corpus)
    index = BM25Index.build(transcript_corpus)
    queries = [
        tokenize("马斯克为什么不喜欢开会?"),
        tokenize("大语言模型就像操作系统的 CPU"),
        tokenize("OpenAI 早期团队有多少人"),
        transcript_corpus[10][:6],
    ]
    assert all(queries)
    for query in queries:
        assert_same_scores(index, reference, query)
        assert index.get_scores(query).max() > 0
    assert index.n_docs == reference.corpus_size
    assert index.avgdl == pytest.approx(reference.avgdl, abs=TOLERANCE)
    assert set(index.vocabulary) == set(reference.idf)


@pytest.mark.parametrize("seed", range(6))
def test_scores_match_bm25okapi_on_random_corpora(seed):
    corpus = random_corpus(seed)
    reference = BM25Okapi(corpus)
    index = BM25Index.build(corpus)
    rng = random.Random(seed + 100)
    words = [*index.vocabulary, "never-seen"]
    for _ in range(30):
        assert_same_scores(index, reference, [rng.choice(words) for _ in range(rng.randint(1, 7))])


def test_idf_floor_for_terms_in_more_than_half_the_documents():
    corpus = random_corpus(1)
    reference = BM25Okapi(corpus)
    index = BM25Index.build(corpus)
    raw = math.log(len(corpus) - index.doc_freq("common") + 0.5) - math.log(
        index.doc_freq("common") + 0.5
    )
    assert raw < 0, "the corpus must exercise the epsilon floor"
    assert index.idf("common") == pytest.approx(0.25 * reference.average_idf, abs=TOLERANCE)
    assert index.idf("common") == pytest.approx(reference.idf["common"], abs=TOLERANCE)
    assert_same_scores(index, reference, ["common"])
    assert_same_scores(index, reference, ["common", "w0"])


def test_other_epsilon_and_parameters_are_honoured():
    corpus = random_corpus(2)
    reference = BM25Okapi(corpus, k1=1.2, b=0.5, epsilon=0.5)
    index = BM25Index.build(corpus, k1=1.2, b=0.5, epsilon=0.5)
    for query in (["common"], ["w1", "w2", "common"], ["w3", "w3"]):
        assert_same_scores(index, reference, query)


def test_duplicated_unknown_and_empty_queries():
    corpus = random_corpus(3)
    reference = BM25Okapi(corpus)
    index = BM25Index.build(corpus)
    once = index.get_scores(["w0"])
    assert once.max() > 0
    np.testing.assert_allclose(index.get_scores(["w0", "w0"]), 2 * once, rtol=0, atol=TOLERANCE)
    assert_same_scores(index, reference, ["w0", "w0", "w5"])
    assert_same_scores(index, reference, ["nope", "w5"])
    unknown = index.get_scores(["nope", "nada"])
    empty = index.get_scores([])
    for scores in (unknown, empty):
        assert scores.dtype == np.float64 and scores.shape == (len(corpus),)
        assert not scores.any()
    assert index.top_k(["nope"]) == []
    assert index.top_k([]) == []


def test_statistics():
    corpus = [["a", "b", "a"], ["b", "c"], ["d"], []]
    reference = BM25Okapi(corpus)
    index = BM25Index.build(corpus)
    assert index.n_docs == 4 and len(index) == 4
    assert index.avgdl == 6 / 4
    assert index.doc_freq("b") == 2 and index.doc_freq("a") == 1 and index.doc_freq("zz") == 0
    assert "c" in index.vocabulary and "zz" not in index.vocabulary and "c" in index
    assert len(index.vocabulary) == 4
    for token in "abcd":
        assert index.idf(token) == pytest.approx(reference.idf[token], abs=TOLERANCE)
    assert index.idf("zz") is None
    assert index.max_idf == pytest.approx(math.log(4.5 / 0.5))
    assert index.max_idf > max(index.idf(token) for token in "abcd")


def test_a_corpus_of_empty_documents_scores_nothing(tmp_path):
    index = BM25Index.build([[], []])  # rank-bm25 divides by zero here
    assert index.n_docs == 2 and index.avgdl == 0 and len(index.vocabulary) == 0
    assert not index.get_scores(["x"]).any() and index.top_k(["x"]) == []
    index.save(tmp_path / "empty")
    assert BM25Index.load(tmp_path / "empty").top_k(["x"]) == []


def test_top_k_orders_like_bm25okapi_best_first():
    corpus = random_corpus(4, n_docs=300)
    reference = BM25Okapi(corpus)
    index = BM25Index.build(corpus)
    for query in (["w1", "w7"], ["w2"], ["common", "w30"], ["w0", "w0", "w9", "w12"]):
        hits = index.top_k(query, k=10)
        expected = reference_top(reference.get_scores(query), 10)
        assert [doc for doc, _ in hits] == expected
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_top_k_breaks_ties_by_lower_doc_id_and_returns_only_positive_scores():
    corpus = [["x"]] * 2 + [["y", "y"]] + [["x"]] * 7 + [["z"]] * 5
    index = BM25Index.build(corpus)
    assert [doc for doc, _ in index.top_k(["x"], k=3)] == [0, 1, 3]
    assert [doc for doc, _ in index.top_k(["x"], k=20)] == [0, 1, *range(3, 10)]
    assert index.top_k(["x"], k=0) == []
    assert len({score for _, score in index.top_k(["x"], k=20)}) == 1


def test_top_k_mask_restricts_documents():
    # 'x' stays in fewer than half the documents so its idf is positive, not floored.
    index = BM25Index.build([["x"]] * 8 + [[f"u{i}"] for i in range(12)])
    mask = np.zeros(index.n_docs, dtype=bool)
    mask[[2, 5, 7, 12]] = True
    assert [doc for doc, _ in index.top_k(["x"], k=10)] == list(range(8))
    assert [doc for doc, _ in index.top_k(["x"], k=10, mask=mask)] == [2, 5, 7]
    assert [doc for doc, _ in index.top_k(["x"], k=2, mask=mask)] == [2, 5]
    assert [doc for doc, _ in index.top_k(["x"], k=10, mask=[True] * 3 + [False] * 17)] == [0, 1, 2]
    assert index.top_k(["x"], mask=np.zeros(index.n_docs, dtype=bool)) == []


@pytest.mark.parametrize(
    "mask",
    [np.ones(3, dtype=bool), np.ones(15, dtype=int), np.ones((15, 1), dtype=bool)],
    ids=["short", "ints", "2-d"],
)
def test_top_k_rejects_a_malformed_mask(mask):
    index = BM25Index.build([["x"]] * 5 + [["y"]] * 10)
    with pytest.raises(ValueError, match="mask"):
        index.top_k(["x"], mask=mask)


def test_weights_scale_each_query_tokens_contribution():
    corpus = random_corpus(5)
    index = BM25Index.build(corpus)
    query, weights = ["w0", "w3", "w0", "nope"], [1.0, 0.5, 0.25, 3.0]
    expected = sum(w * index.get_scores([t]) for t, w in zip(query, weights, strict=True))
    weighted = index.get_scores(query, weights)
    np.testing.assert_allclose(weighted, expected, rtol=0, atol=TOLERANCE)
    assert not np.allclose(weighted, index.get_scores(query))
    np.testing.assert_array_equal(index.get_scores(query, [1.0] * 4), index.get_scores(query))
    hits = index.top_k(query, k=5, weights=weights)
    assert [doc for doc, _ in hits] == reference_top(expected, 5)
    with pytest.raises(ValueError, match="weights"):
        index.get_scores(query, [1.0])


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="empty"):
        BM25Index.build([])
    with pytest.raises(TypeError, match="token lists"):
        BM25Index.build(["a whole sentence", "another"])
    index = BM25Index.build([["a"]])
    with pytest.raises(TypeError, match="not a string"):
        index.get_scores("a")
    with pytest.raises(ValueError, match="k must"):
        index.top_k(["a"], k=-1)


def test_save_load_round_trip(tmp_path, transcript_corpus):
    index = BM25Index.build(transcript_corpus, k1=1.2, b=0.7, epsilon=0.3)
    path = tmp_path / "nested" / "index.bm25"
    index.save(path)
    assert path.is_dir() and [p.name for p in path.parent.iterdir()] == ["index.bm25"]
    for array in path.glob("*.npy"):  # no pickled objects inside
        np.load(array, allow_pickle=False)
    loaded = BM25Index.load(path)
    assert isinstance(loaded._doc_ids.base, np.memmap) and not loaded._doc_ids.flags.writeable
    assert (loaded.k1, loaded.b, loaded.epsilon) == (1.2, 0.7, 0.3)
    assert loaded.n_docs == index.n_docs and loaded.avgdl == index.avgdl
    assert list(loaded.vocabulary) == list(index.vocabulary)
    assert loaded.max_idf == index.max_idf
    for token in ("马斯克", "openai", "模型"):
        assert loaded.idf(token) == index.idf(token) and loaded.doc_freq(token) > 0
    for query in (tokenize("马斯克怎么管理特斯拉"), ["openai", "模型", "模型"]):
        np.testing.assert_array_equal(loaded.get_scores(query), index.get_scores(query))
        assert loaded.top_k(query, 5) == index.top_k(query, 5)


def test_load_rejects_files_that_are_not_an_index(tmp_path):
    garbage = tmp_path / "garbage.bm25"
    garbage.write_bytes(b"not an index at all")
    with pytest.raises(ValueError, match="not a BM25 index"):
        BM25Index.load(garbage)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    np.save(foreign / "something.npy", np.arange(3))
    with pytest.raises(ValueError, match="not a BM25 index"):
        BM25Index.load(foreign)
    damaged = tmp_path / "damaged"
    BM25Index.build([["a", "b"], ["b"]]).save(damaged)
    (damaged / "doc_ids.npy").write_bytes(b"truncated")
    with pytest.raises(ValueError, match="cannot read BM25 index"):
        BM25Index.load(damaged)
    with pytest.raises(ValueError, match="not a BM25 index"):
        BM25Index.load(tmp_path / "missing")


def test_synthetic_library_is_deterministic_and_shaped_like_the_interview():
    first, again, other = (
        synthetic_corpus(300, 7),
        synthetic_corpus(300, 7),
        synthetic_corpus(300, 8),
    )
    assert first == again and first != other
    assert len(first) == 300 and all(isinstance(token, str) for doc in first for token in doc)
    assert 5 < sum(map(len, first)) / len(first) < 60
    queries = synthetic_queries(50, 7)
    assert queries == synthetic_queries(50, 7)
    assert all(2 <= len(query) <= 8 for query in queries)


def test_rankings_agree_tolerates_only_exact_ties():
    reference = np.array([0.0, 2.0, 1.0, 2.0, 0.5])
    assert rankings_agree([(1, 2.0), (3, 2.0), (2, 1.0)], reference, 3)
    assert rankings_agree([(3, 2.0), (1, 2.0), (2, 1.0)], reference, 3)
    assert not rankings_agree([(1, 2.0), (2, 1.0), (3, 2.0)], reference, 3)
    assert not rankings_agree([(1, 2.0), (3, 2.0)], reference, 3)


def test_small_benchmark_run_reports_agreement(capsys):
    assert bench_main(["--passages", "2000", "--queries", "40", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in (
        "passages",
        "queries",
        "build_s",
        "load_s",
        "peak_rss_mb",
        "p50_ms",
        "p99_ms",
        "rank_bm25_p50_ms",
        "rank_bm25_p99_ms",
        "max_abs_diff",
        "rankings_agree",
    ):
        assert key in result
    assert result["passages"] == 2000 and result["queries"] == 40
    assert result["rankings_agree"] is True
    assert result["max_abs_diff"] <= TOLERANCE


def test_term_table_round_trip_with_long_and_odd_terms(tmp_path):
    from bot.search.bm25 import TermTable

    terms = ["模型", "a", "x" * 100, "ends with nul\x00", "", "規模", "b" * 33, "gpu"]
    terms += [f"t{i}" for i in range(2000)]
    TermTable.save(terms, tmp_path)
    table = TermTable.load(tmp_path)
    assert list(table) == terms and len(table) == len(terms)
    assert all(table[t] == i for i, t in enumerate(terms))
    for absent in ("模", "x" * 99, "ends with nul", "t2000", 42, "gpus"):
        assert absent not in table
    assert table.get("t2000", -1) == -1


def _same_index(one: BM25Index, other: BM25Index) -> None:
    assert list(one.vocabulary) == list(other.vocabulary)  # first-appearance order
    for name in ("_offsets", "_doc_ids", "_weights", "_doc_len", "_idf", "_doc_freq"):
        assert np.array_equal(getattr(one, name), getattr(other, name)), name
    assert (one.avgdl, one.average_idf) == (other.avgdl, other.average_idf)


@pytest.mark.parametrize("seed", range(5))
def test_building_from_token_numbers_gives_the_same_index_bit_for_bit(seed):
    corpus = random_corpus(seed)
    # A shared vocabulary numbered in some other order, with terms no document uses.
    rng = random.Random(seed)
    terms = sorted({t for doc in corpus for t in doc} | {"unused", "also unused"})
    rng.shuffle(terms)
    number = {t: i for i, t in enumerate(terms)}
    flat = np.array([number[t] for doc in corpus for t in doc], dtype=np.int64)
    doc_len = np.array([len(doc) for doc in corpus])
    _same_index(BM25Index.build_from_ids(flat, doc_len, terms), BM25Index.build(corpus))
    reference = BM25Okapi(corpus)
    index = BM25Index.build_from_ids(flat, doc_len, terms)
    assert_same_scores(index, reference, ["common", "w3", "w3", "unused"])


def test_building_from_token_numbers_checks_the_lengths():
    with pytest.raises(ValueError, match="add up"):
        BM25Index.build_from_ids(np.array([0, 1]), np.array([1]), ["a", "b"])
    with pytest.raises(ValueError, match="empty corpus"):
        BM25Index.build_from_ids(np.array([], dtype=np.int64), np.array([]), [])


def test_an_index_of_the_same_terms_regrouped_shares_the_term_table():
    terms = ["a", "b", "c", "d"]
    flat = np.array([0, 1, 2, 1, 3])
    one = BM25Index.build_from_ids(flat, np.array([2, 3]), terms)
    regrouped = BM25Index.build_from_ids(flat, np.array([5]), terms, share_terms_with=one)
    assert regrouped._term_ids is one._term_ids
    _same_index(regrouped, BM25Index.build([["a", "b", "c", "b", "d"]]))
    other_order = BM25Index.build_from_ids(
        np.array([3, 0, 1, 2]), np.array([4]), terms, share_terms_with=one
    )
    assert other_order._term_ids is not one._term_ids
    _same_index(other_order, BM25Index.build([["d", "a", "b", "c"]]))
