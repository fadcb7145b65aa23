"""A compact BM25 index whose scores equal rank-bm25's ``BM25Okapi`` but answer in milliseconds.

rank-bm25 keeps one Python dict per document and walks all of them for every query term, which
costs ~100 ms per query at 100,000 passages. Here every term's postings are precomputed once
(CSR layout, as in ``bm25s``): ``offsets[t]:offsets[t + 1]`` slices flat arrays of document ids
and of each posting's finished BM25 contribution, so a query only touches the documents that
contain its terms.

The arithmetic deliberately repeats BM25Okapi's, operation for operation, so scores agree to the
last bit (not just approximately) and rankings with ties stay identical:

* ``idf = log(N - n + 0.5) - log(n + 0.5)`` with ``math.log``;
* a negative idf is replaced by ``epsilon * average_idf``, the average taken over every
  vocabulary idf *before* flooring, summed in first-appearance order;
* a posting contributes ``idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)))``;
* an unknown query term contributes nothing, a repeated one counts once per occurrence.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import operator
import shutil
import tempfile
from collections.abc import Iterator, KeysView, Mapping, Sequence
from itertools import chain
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 2: a folder of memory-mapped .npy arrays; 3: the vocabulary too
_ARRAYS = ("offsets", "doc_ids", "weights", "doc_len", "idf", "doc_freq")


class BM25Index:
    """Okapi BM25 over pre-tokenised documents, stored as CSR postings with final weights.

    Build with :meth:`build` or :meth:`load`; the constructor only assembles validated arrays.
    """

    def __init__(
        self,
        *,
        term_ids: Mapping[str, int],
        offsets: np.ndarray,
        doc_ids: np.ndarray,
        weights: np.ndarray,
        doc_len: np.ndarray,
        idf: np.ndarray,
        doc_freq: np.ndarray,
        k1: float,
        b: float,
        epsilon: float,
        avgdl: float,
        average_idf: float,
    ) -> None:
        self._term_ids = term_ids
        self._offsets = offsets
        self._doc_ids = doc_ids
        self._weights = weights
        self._doc_len = doc_len
        self._idf = idf
        self._doc_freq = doc_freq
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        self._avgdl = avgdl
        self.average_idf = average_idf

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        corpus: Sequence[Sequence[str]],
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
    ) -> BM25Index:
        """Index ``corpus`` (one token list per document; document id = position).

        Tokens are mapped to ids in one pass (first-appearance order, as rank-bm25's dicts
        iterate); everything after that is numpy, so 100,000 passages build in seconds.
        """
        if isinstance(corpus, str | bytes):
            raise TypeError("corpus must be a sequence of token lists, not a string")
        n_docs = len(corpus)
        if n_docs == 0:
            raise ValueError("cannot build a BM25 index over an empty corpus")
        for position, doc in enumerate(corpus):
            if isinstance(doc, str | bytes):
                raise TypeError(
                    f"document {position} is a string; pass token lists (e.g. tokenize(text))"
                )
        doc_len = np.fromiter(map(len, corpus), dtype=np.int64, count=n_docs)
        total_tokens = int(doc_len.sum())

        term_ids: dict[str, int] = {}
        assign = term_ids.setdefault
        flat_terms = np.fromiter(
            (assign(token, len(term_ids)) for token in chain.from_iterable(corpus)),
            dtype=np.int64,
            count=total_tokens,
        )
        return cls._assemble(term_ids, flat_terms, doc_len, k1=k1, b=b, epsilon=epsilon)

    @classmethod
    def build_from_ids(
        cls,
        flat: np.ndarray,
        doc_len: np.ndarray,
        terms: Sequence[str],
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        share_terms_with: BM25Index | None = None,
    ) -> BM25Index:
        """The index `build` gives for the corpus whose document ``d`` is
        ``[terms[i] for i in flat[start_d:start_d + doc_len[d]]]``, documents back to back.

        For callers that already hold their tokens as numbers into a shared vocabulary (one
        vocabulary for several fields): no Python loop over the tokens. Terms are renumbered
        in first-appearance order, as `build` numbers them, so the result is the same to the
        last bit. When they come out exactly as ``share_terms_with``'s (a field made of the
        same tokens regrouped), that index's term table is shared rather than built again.
        """
        doc_len = np.asarray(doc_len, dtype=np.int64)
        flat = np.asarray(flat)
        n_docs = len(doc_len)
        if n_docs == 0:
            raise ValueError("cannot build a BM25 index over an empty corpus")
        if int(doc_len.sum()) != len(flat):
            raise ValueError("doc_len does not add up to the number of tokens")
        # Where each term first appears (no sort of the tokens: one pass), then the terms
        # used, in first-appearance order.
        first = np.full(len(terms), len(flat), dtype=np.int64)
        np.minimum.at(first, flat, np.arange(len(flat), dtype=np.int64))
        used = np.flatnonzero(first < len(flat))
        used = used[np.argsort(first[used])]
        renumber = np.zeros(len(terms), dtype=np.int64)
        renumber[used] = np.arange(len(used), dtype=np.int64)
        names = [terms[i] for i in used.tolist()]
        shared = share_terms_with._term_ids if share_terms_with is not None else None
        if isinstance(shared, dict) and len(shared) == len(names) and list(shared) == names:
            term_ids = shared
        else:
            term_ids = dict(zip(names, range(len(names)), strict=True))
        return cls._assemble(term_ids, renumber[flat], doc_len, k1=k1, b=b, epsilon=epsilon)

    @classmethod
    def _assemble(
        cls,
        term_ids: dict[str, int],
        flat_terms: np.ndarray,
        doc_len: np.ndarray,
        *,
        k1: float,
        b: float,
        epsilon: float,
    ) -> BM25Index:
        """The index over tokens numbered in first-appearance order (``flat_terms``, int64,
        consumed), documents back to back with lengths ``doc_len``."""
        n_docs = len(doc_len)
        total_tokens = int(doc_len.sum())
        n_terms = len(term_ids)
        # One in-place sort of (term, doc) keys groups postings by term, docs ascending; runs of
        # equal keys are term frequencies. Buffers are reused: postings dominate peak memory.
        keys = flat_terms
        keys *= n_docs
        keys += np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
        keys.sort()
        starts = np.empty(len(keys), dtype=bool)
        starts[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=starts[1:])
        run_starts = np.flatnonzero(starts)
        del starts
        tf = np.diff(run_starts, append=len(keys))
        postings = keys[run_starts]
        del keys, flat_terms, run_starts
        posting_terms = postings // n_docs
        postings -= posting_terms * n_docs
        doc_ids = postings
        doc_ids = doc_ids.astype(np.int32)
        doc_freq = np.bincount(posting_terms, minlength=n_terms)
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(doc_freq, out=offsets[1:])

        idf, average_idf = _okapi_idf(doc_freq, n_docs, epsilon)
        avgdl = total_tokens / n_docs
        weights = _posting_weights(
            idf, posting_terms, tf, doc_len[doc_ids], k1=k1, b=b, avgdl=avgdl
        )
        log.debug("built BM25 index: %d docs, %d terms, %d postings", n_docs, n_terms, len(tf))
        return cls(
            term_ids=term_ids,
            offsets=offsets,
            doc_ids=doc_ids,
            weights=weights,
            doc_len=doc_len.astype(np.int32),
            idf=idf,
            doc_freq=doc_freq.astype(np.int32),
            k1=float(k1),
            b=float(b),
            epsilon=float(epsilon),
            avgdl=avgdl,
            average_idf=average_idf,
        )

    # ------------------------------------------------------------------ statistics

    @property
    def n_docs(self) -> int:
        return len(self._doc_len)

    @property
    def avgdl(self) -> float:
        return self._avgdl

    @property
    def n_postings(self) -> int:
        """Stored (term, document) pairs: the index's size, reported by the benchmark."""
        return int(self._offsets[-1])

    @property
    def vocabulary(self) -> KeysView[str]:
        """Every indexed term (set-like: supports ``in``, ``len`` and iteration)."""
        return self._term_ids.keys()

    @property
    def max_idf(self) -> float:
        """The idf a term seen in no document would get: the ceiling for query expansion."""
        return math.log(self.n_docs + 0.5) - math.log(0.5)

    def __contains__(self, token: object) -> bool:
        return token in self._term_ids

    def __len__(self) -> int:
        return self.n_docs

    def ascii_terms(self) -> list[str]:
        """The vocabulary's all-ASCII terms (Latin words, numbers), without reading the rest."""
        if isinstance(self._term_ids, TermTable):
            return self._term_ids.ascii_terms()
        return [term for term in self._term_ids if term.isascii()]

    def idf(self, token: str) -> float | None:
        """The (floored) idf BM25Okapi uses for ``token``; ``None`` when it was never indexed."""
        term = self._term_ids.get(token)
        return None if term is None else float(self._idf[term])

    def doc_freq(self, token: str) -> int:
        """Number of documents containing ``token`` (0 when unknown)."""
        term = self._term_ids.get(token)
        return 0 if term is None else int(self._doc_freq[term])

    def doc_length(self, doc_id: int) -> int:
        return int(self._doc_len[doc_id])

    def postings(self, token: str) -> np.ndarray:
        """Ids of the documents containing ``token``, ascending (empty when unknown).

        Lets callers ask "does this passage contain the word?" without keeping token lists.
        """
        term = self._term_ids.get(token)
        if term is None:
            return self._doc_ids[:0]
        return self._doc_ids[self._offsets[term] : self._offsets[term + 1]]

    # ------------------------------------------------------------------ querying

    def get_scores(
        self, query: Sequence[str], weights: Sequence[float] | None = None
    ) -> np.ndarray:
        """BM25 score of every document (float64, length ``n_docs``), as BM25Okapi.get_scores.

        ``weights[i]`` multiplies query token ``i``'s contribution, so expansion terms can count
        for less than the words the user typed.
        """
        if isinstance(query, str | bytes):
            raise TypeError("query must be a sequence of tokens, not a string")
        if weights is not None and len(weights) != len(query):
            raise ValueError(
                f"weights has {len(weights)} entries but the query has {len(query)} tokens"
            )
        scores = np.zeros(self.n_docs, dtype=np.float64)
        offsets = self._offsets
        for position, token in enumerate(query):
            term = self._term_ids.get(token)
            if term is None:
                continue
            start, stop = offsets[term], offsets[term + 1]
            contribution = self._weights[start:stop]
            if weights is not None:
                contribution = float(weights[position]) * contribution
            # A term lists each document once, so fancy-index += is safe (no np.add.at needed).
            scores[self._doc_ids[start:stop]] += contribution
        return scores

    def top_k(
        self,
        query: Sequence[str],
        k: int = 10,
        weights: Sequence[float] | None = None,
        mask: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` best ``(doc_id, score)`` pairs, best first; equal scores by lower doc id.

        Only documents scoring above zero are returned. ``mask`` (bool, one per document)
        restricts the answer to the allowed documents, e.g. the guest's passages.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype != np.bool_ or mask.shape != (self.n_docs,):
                raise ValueError(
                    f"mask must be a bool array of shape ({self.n_docs},), "
                    f"got {mask.dtype} {mask.shape}"
                )
        scores = self.get_scores(query, weights)
        if k == 0:
            return []
        positive = scores > 0
        if mask is not None:
            positive &= mask
        candidates = np.flatnonzero(positive)
        if len(candidates) > k:
            candidate_scores = scores[candidates]
            # Keep everything tied with the k-th best so the id tie-break below stays exact.
            kth_best = np.partition(candidate_scores, len(candidates) - k)[len(candidates) - k]
            candidates = candidates[candidate_scores >= kth_best]
        order = np.lexsort((candidates, -scores[candidates]))[:k]
        best = candidates[order]
        return [(int(doc), float(scores[doc])) for doc in best]

    # ------------------------------------------------------------------ persistence

    def save(self, path: Path) -> None:
        """Write a folder of plain ``.npy`` arrays (no pickle) plus JSON, atomically.

        One ``.npy`` per array so that `load` can memory-map each one: processes serving the
        same cache then share the postings' pages instead of holding a copy each.
        """
        path = Path(path)
        meta = {
            "format": FORMAT_VERSION,
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
            "avgdl": self._avgdl,
            "average_idf": self.average_idf,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
        try:
            for name in _ARRAYS:
                np.save(staging / f"{name}.npy", getattr(self, f"_{name}"), allow_pickle=False)
            TermTable.save(list(self._term_ids), staging)
            (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            staging.rename(path)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, path: Path, *, mmap: bool = True) -> BM25Index:
        """Read an index written by :meth:`save`; a foreign or damaged one raises ValueError.

        With ``mmap`` (the default) the arrays are memory-mapped read-only: loading costs
        next to nothing, and every process mapping the same files shares their pages.
        """
        path = Path(path)
        if not path.is_dir():
            raise ValueError(f"{path} is not a BM25 index folder")
        files = [f"{name}.npy" for name in _ARRAYS] + [*TermTable.FILES, "meta.json"]
        missing = [name for name in files if not (path / name).exists()]
        if missing:
            raise ValueError(f"{path} is not a BM25 index (missing {', '.join(missing)})")
        try:
            arrays = {
                name: load_array(path / f"{name}.npy", mmap=mmap)
                for name in _ARRAYS
            }
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            vocab = TermTable.load(path, mmap=mmap)
        except (OSError, EOFError, ValueError) as error:  # JSONDecodeError is a ValueError
            raise ValueError(f"cannot read BM25 index {path}: {error}") from error
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{path} has index format {meta.get('format')!r}; expected {FORMAT_VERSION}"
            )
        offsets = arrays["offsets"]
        if len(offsets) != len(vocab) + 1 or offsets[-1] != len(arrays["doc_ids"]):
            raise ValueError(f"{path} is inconsistent: postings do not match the vocabulary")
        return cls(
            term_ids=vocab,
            offsets=offsets,
            doc_ids=arrays["doc_ids"],
            weights=arrays["weights"],
            doc_len=arrays["doc_len"],
            idf=arrays["idf"],
            doc_freq=arrays["doc_freq"],
            k1=float(meta["k1"]),
            b=float(meta["b"]),
            epsilon=float(meta["epsilon"]),
            avgdl=float(meta["avgdl"]),
            average_idf=float(meta["average_idf"]),
        )


def load_array(path: Path, *, mmap: bool = True) -> np.ndarray:
    """A ``.npy`` array, memory-mapped read-only, as a plain ndarray over the mapping.

    ``np.memmap`` slices are memmap objects whose bookkeeping costs microseconds per slice —
    thousands of slices per question; a plain view over the same pages costs nothing extra.
    """
    array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    return array.view(np.ndarray) if isinstance(array, np.memmap) else array


def _okapi_idf(doc_freq: np.ndarray, n_docs: int, epsilon: float) -> tuple[np.ndarray, float]:
    """BM25Okapi's idf per term, floored at ``epsilon * average_idf`` where negative.

    ``math.log`` (once per distinct document frequency) and a running sum in vocabulary
    order, so this reproduces rank-bm25 bit for bit.
    """
    ln = math.log
    # Many terms share a document frequency: each distinct one is computed once.
    freqs, which = np.unique(doc_freq, return_inverse=True)
    table = np.array(
        [ln(n_docs - freq + 0.5) - ln(freq + 0.5) for freq in freqs.tolist()], dtype=np.float64
    )
    idf = table[which.reshape(-1)]
    # A left-to-right float sum, as rank-bm25's loop adds (``sum`` compensates on 3.12+).
    idf_sum = functools.reduce(operator.add, idf.tolist(), 0.0)
    average_idf = idf_sum / len(doc_freq) if len(doc_freq) else 0.0
    idf[idf < 0] = epsilon * average_idf
    return idf, average_idf


def _posting_weights(
    idf: np.ndarray,
    posting_terms: np.ndarray,
    tf: np.ndarray,
    dl: np.ndarray,
    *,
    k1: float,
    b: float,
    avgdl: float,
) -> np.ndarray:
    """Each posting's final contribution, in BM25Okapi.get_scores' exact operation order.

    That is ``idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)))``, evaluated in
    place (same operations, same rounding) so building needs few posting-sized temporaries.
    """
    length_norm = dl.astype(np.float64)
    length_norm *= b
    length_norm /= avgdl
    np.add(1 - b, length_norm, out=length_norm)
    length_norm *= k1
    length_norm += tf
    weights = tf * (k1 + 1)
    weights /= length_norm
    del length_norm
    weights *= idf[posting_terms]
    return weights


class TermTable(Mapping[str, int]):
    """Term → id without a Python dict: a sorted, memory-mapped array of the terms.

    At 100,000 passages a field has ~200,000 terms, and a dict of them costs every process
    ~30 MB of its own; the sorted fixed-width array is shared by every process mapping it, and
    a lookup is one binary search (a few microseconds). Terms longer than the array's width
    (rare: the width covers 99.9% of terms) sit in a small JSON side table.
    """

    FILES = ("terms.npy", "term_ids.npy", "long_terms.json")
    MAX_WIDTH = 32

    def __init__(self, terms: np.ndarray, ids: np.ndarray, long_terms: dict[str, int]) -> None:
        self._terms = terms  # sorted
        self._ids = ids  # id of terms[i]
        self._long = long_terms
        self._width = terms.dtype.itemsize // 4

    @classmethod
    def save(cls, terms: Sequence[str], directory: Path) -> None:
        """Write ``terms`` (in id order) into ``directory``."""
        lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        width = int(np.percentile(lengths, 99.9)) if len(terms) else 1
        width = max(1, min(width, cls.MAX_WIDTH))
        # numpy's fixed-width strings drop trailing NULs, so such a term goes to the side table.
        fits = lengths <= width
        if "\x00" in "".join(terms):  # one scan of every term instead of one call per term
            fits &= np.fromiter(
                (not t.endswith("\x00") for t in terms), dtype=bool, count=len(terms)
            )
        ids = np.flatnonzero(fits)
        kept = terms if len(ids) == len(terms) else [terms[i] for i in ids.tolist()]
        table = np.array(kept, dtype=f"<U{width}")
        order = np.argsort(table, kind="stable")
        np.save(directory / "terms.npy", table[order], allow_pickle=False)
        np.save(directory / "term_ids.npy", ids[order].astype(np.int32), allow_pickle=False)
        long_terms = {terms[i]: i for i in np.flatnonzero(~fits).tolist()}
        (directory / "long_terms.json").write_text(
            json.dumps(long_terms, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> TermTable:
        terms = load_array(directory / "terms.npy", mmap=mmap)
        ids = load_array(directory / "term_ids.npy", mmap=mmap)
        long_terms = json.loads((directory / "long_terms.json").read_text(encoding="utf-8"))
        if terms.dtype.kind != "U" or terms.shape != ids.shape:
            raise ValueError(f"{directory} has a damaged term table")
        return cls(terms, ids, long_terms)

    def ascii_terms(self) -> list[str]:
        """The all-ASCII terms: sorted by code point, they sit among those that open with an
        ASCII character, at the start of the table."""
        end = int(np.searchsorted(self._terms, "\x80"))
        return [t for t in [*self._terms[:end].tolist(), *self._long] if t.isascii()]

    def get(self, token: object, default: int | None = None) -> int | None:  # type: ignore[override]
        if not isinstance(token, str):
            return default
        if len(token) > self._width or token.endswith("\x00"):
            return self._long.get(token, default)
        at = int(np.searchsorted(self._terms, token))
        if at < len(self._terms) and self._terms[at] == token:
            return int(self._ids[at])
        return default

    def __getitem__(self, token: str) -> int:
        term = self.get(token)
        if term is None:
            raise KeyError(token)
        return term

    def __contains__(self, token: object) -> bool:
        return self.get(token) is not None

    def __len__(self) -> int:
        return len(self._terms) + len(self._long)

    def __iter__(self) -> Iterator[str]:
        """Terms in id order (first appearance in the corpus), as the dict it replaces."""
        names: list[str] = [""] * len(self)
        for term, number in zip(self._terms.tolist(), self._ids.tolist(), strict=True):
            names[number] = term
        for term, number in self._long.items():
            names[number] = term
        return iter(names)
