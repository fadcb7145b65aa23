"""Rank passages for a question and decide whether the interview covers it at all.

A paragraph of a long answer rarely repeats the words of the question it answers, so each
passage is scored on three fields, each a BM25 index of its own:

* ``text``    — the passage itself (it must match: we quote it),
* ``context`` — the host question its turn answers and its section title; it counts most for
  the opening paragraph of an answer (which replies to the question directly) and decays
  with each later paragraph (which has moved on to details),
* ``turn``    — the whole turn it belongs to, so a paragraph inherits its answer's topic.

``bm25 = text + CONTEXT_WEIGHT * context + TURN_WEIGHT * turn``, over passages whose text
matches at least one query word, or which open the answer to a matching host question; the
best BM25 candidates are then ordered by ``bm25 × coverage × (2 + the share of the question
said in the passage itself)`` — the last factor is a gentle tie-breaker between paragraphs of
one answer, which share their context and so their coverage.

*Coverage* is the share of the question's IDF mass that a passage (with its context)
matches; it also decides whether to answer at all. A question about the weather matches at
best a stray 今天, far below the bar.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from bot.bm25 import BM25Index
from bot.english import tokenize_english
from bot.model import HOST, Transcript
from bot.textnorm import ChineseTokenizer

CONTEXT_WEIGHT = 0.6
CONTEXT_DECAY = 0.7
TURN_WEIGHT = 0.3
MIN_COVERAGE = 0.42
SINGLE_CHARACTER_SHARE = 0.5
PASSAGE_SHARE_BASE = 2.0
SYNONYM_CREDIT = 0.5
TRANSLATION_CREDIT = 0.75
SYNONYM_WEIGHT = 0.6


@dataclass(frozen=True)
class QueryUnit:
    """One thing the question asks for: a word, with the index tokens that would match it.

    A Chinese word is its own single token; an English word asked of a Chinese index becomes
    its translations. Coverage counts units, so a word with six translations counts once.
    """

    surface: str
    tokens: tuple[str, ...]
    weights: tuple[float, ...]
    idf: float
    credit: float = 1.0  # share of ``idf`` counted as covered when matched (synonyms: less)


@dataclass
class FieldIndex:
    """The three BM25 fields of one language's passages; row i of text/context is passage i."""

    passage_rows: np.ndarray  # global passage index of each row
    text: BM25Index
    context: BM25Index
    turn: BM25Index
    turn_of_row: np.ndarray  # row → row of ``turn``
    position: np.ndarray  # row → paragraph number within its turn (0 = opens the answer)

    @functools.cached_property
    def context_weight(self) -> np.ndarray:
        """Each row's weight of its context field: fixed per row, so computed once."""
        return CONTEXT_WEIGHT * CONTEXT_DECAY ** np.minimum(self.position, 8)

    @property
    def vocabulary(self) -> FieldVocabulary:
        return FieldVocabulary(self.text, self.context)


class FieldVocabulary(Collection[str]):
    """Every term of the text and context fields, as a view: membership costs two dict
    lookups, where building the union as a set cost ~50 ms per question at 100,000 passages."""

    def __init__(self, *indexes: BM25Index) -> None:
        self._indexes = indexes

    def __contains__(self, token: object) -> bool:
        return any(token in index for index in self._indexes)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for index in self._indexes:
            for token in index.vocabulary:
                if token not in seen:
                    seen.add(token)
                    yield token

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Ranked:
    row: int
    score: float
    coverage: float
    matched: tuple[str, ...]


def units_for(
    words: Sequence[tuple[str, Sequence[str]]], index: FieldIndex
) -> list[QueryUnit]:
    """Units of a same-language question: each distinct word, weighted by its rarest token.

    A single Chinese character (人, 大) says little on its own, so it counts half.
    """
    units: list[QueryUnit] = []
    seen: set[str] = set()
    for word, tokens in words:
        if word in seen:
            continue
        seen.add(word)
        idf = max(_idf(index, token) for token in tokens)
        if len(word) == 1 and not word.isascii():
            idf *= SINGLE_CHARACTER_SHARE
        units.append(QueryUnit(word, tuple(tokens), (1.0,) * len(tokens), idf))
    return units


def _idf(index: FieldIndex, token: str) -> float:
    """IDF from the passage text, else the context field, else as rare as a word can be."""
    for field in (index.text, index.context):
        value = field.idf(token)
        if value is not None:
            return max(value, 0.0)
    return index.text.max_idf


def rank(
    index: FieldIndex,
    units: Sequence[QueryUnit],
    *,
    allowed: np.ndarray | None = None,
    limit: int = 10,
) -> list[Ranked]:
    """Best passages first; each with the share of the question it covers."""
    tokens = [t for unit in units for t in unit.tokens]
    weights = [w for unit in units for w in unit.weights]
    if not tokens:
        return []
    text = index.text.get_scores(tokens, weights)
    context = index.context.get_scores(tokens, weights)
    turn = index.turn.get_scores(tokens, weights)[index.turn_of_row]
    combined = text + index.context_weight * context + TURN_WEIGHT * turn
    # A passage must say something the question asks about — or be the opening paragraph of
    # the answer to a host question that does (the direct reply to the same question).
    eligible = (text > 0) | ((index.position == 0) & (context > 0))
    if allowed is not None:
        eligible &= allowed
    candidates = np.flatnonzero(eligible)
    if candidates.size == 0:
        return []
    pool = max(limit, 30)  # coverage reorders the best BM25 candidates below
    if candidates.size > pool:
        # Only the best ``pool`` are sorted; everything tied with the pool-th best is kept so
        # the tie-break by row below stays exact.
        candidate_scores = combined[candidates]
        kth = candidates.size - pool
        kth_best = np.partition(candidate_scores, kth)[kth]
        candidates = candidates[candidate_scores >= kth_best]
    order = candidates[np.lexsort((candidates, -combined[candidates]))][:pool]
    total_idf = sum(unit.idf for unit in units) or 1.0
    turn_rows = index.turn_of_row[order]
    in_text: dict[str, np.ndarray] = {}
    covered = np.zeros((len(units), order.size), dtype=bool)
    said = np.zeros((len(units), order.size), dtype=bool)
    for u, unit in enumerate(units):
        for token in unit.tokens:
            here = _contains(index.text.postings(token), order)
            in_text[token] = here
            said[u] |= here
            covered[u] |= here | _contains(index.context.postings(token), order)
            covered[u] |= _contains(index.turn.postings(token), turn_rows)
    unit_credit = np.array([unit.idf * unit.credit for unit in units])
    ranked = []
    for position, row in enumerate(order):
        coverage = float(unit_credit[covered[:, position]].sum() / total_idf)
        in_passage = float(unit_credit[said[:, position]].sum() / total_idf)
        matched = tuple(t for t, here in in_text.items() if here[position])
        score = float(combined[row]) * coverage * (PASSAGE_SHARE_BASE + in_passage)
        ranked.append(Ranked(int(row), score, coverage, matched))
    # BM25 says how strongly a passage matches; coverage says how much of the question it and
    # its context answer; the share said in the passage itself separates paragraphs of one
    # answer, which all share the same context.
    ranked.sort(key=lambda r: (-r.score, r.row))
    return ranked[:limit]


def _contains(postings: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Which ``rows`` appear in ``postings`` (ascending ids): a binary search per row.

    Costs O(len(rows) · log len(postings)) — the pool is ~30 rows, while the postings of a
    common word run to tens of thousands, which ``np.isin`` would sort at every question.
    """
    if postings.size == 0:
        return np.zeros(rows.shape, dtype=bool)
    at = np.searchsorted(postings, rows)
    np.minimum(at, postings.size - 1, out=at)
    return postings[at] == rows


PROGRESS_EVERY = 500  # passages between two progress reports


def build_fields(
    transcripts: Iterable[Transcript],
    language: str,
    tokenizer: ChineseTokenizer,
    progress: Callable[[int], None] | None = None,
) -> FieldIndex:
    """Tokenise one language's passages into the three search fields.

    ``progress`` is told how many passages are tokenised so far, every few hundred.
    """
    def tokens(text: str) -> list[str]:
        return tokenize_english(text) if language == "en" else tokenizer.tokens(text)

    rows: list[int] = []
    text_docs: list[list[str]] = []
    context_docs: list[list[str]] = []
    turn_docs: list[list[str]] = []
    turn_of_row: list[int] = []
    position: list[int] = []
    offset = 0
    for transcript in transcripts:
        host_text: dict[int, str] = {}
        last_host = ""
        for turn in transcript.turns:
            if turn.role == HOST:
                last_host = " ".join(transcript.passages[i].text for i in turn.passage_indices)
            host_text[turn.index] = last_host if turn.role != HOST else ""
        turn_rows: dict[int, int] = {}
        context_cache: dict[tuple[int, str], list[str]] = {}
        for passage in transcript.passages:
            if passage.language != language:
                continue
            if passage.turn not in turn_rows:
                turn_rows[passage.turn] = len(turn_docs)
                turn_docs.append([])
            rows.append(offset + passage.index)
            text_docs.append(tokens(passage.text))
            # A turn's tokens are its paragraphs' tokens: no need to segment the text twice.
            turn_docs[turn_rows[passage.turn]].extend(text_docs[-1])
            key = (passage.turn, passage.section)
            if key not in context_cache:  # every paragraph of a turn shares its question
                context_cache[key] = tokens(host_text[passage.turn] + " " + passage.section)
            context_docs.append(context_cache[key])
            turn_of_row.append(turn_rows[passage.turn])
            position.append(transcript.turns[passage.turn].passage_indices.index(passage.index))
            if progress is not None and len(rows) % PROGRESS_EVERY == 0:
                progress(len(rows))
        offset += len(transcript.passages)
    if progress is not None:
        progress(len(rows))
    return FieldIndex(
        passage_rows=np.array(rows, dtype=np.int64),
        text=BM25Index.build(text_docs),
        context=BM25Index.build(context_docs),
        turn=BM25Index.build(turn_docs),
        turn_of_row=np.array(turn_of_row, dtype=np.int64),
        position=np.array(position, dtype=np.int64),
    )
