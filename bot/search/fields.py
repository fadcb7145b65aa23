"""The three BM25 search fields of one language's passages (see `bot.search.rank` for why)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.forked import map_chunks_forked
from bot.model import HOST, Transcript
from bot.search.bm25 import BM25Index
from bot.text.chinese import ChineseTokenizer
from bot.text.english import tokenize_english
from bot.text.normalize import normalize


@dataclass
class FieldIndex:
    """The three BM25 fields of one language's passages; row i of text/context is passage i."""

    passage_rows: np.ndarray  # global passage index of each row
    text: BM25Index
    context: BM25Index
    turn: BM25Index
    turn_of_row: np.ndarray  # row → row of ``turn``
    position: np.ndarray  # row → paragraph number within its turn (0 = opens the answer)
    # Per-row arrays derived once from the above by their users (e.g. `bot.search.rank`).
    derived: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def vocabulary(self) -> FieldVocabulary:
        return FieldVocabulary(self.text, self.context)


class FieldVocabulary(Collection[str]):
    """Every term of the text and context fields, as a view: membership costs two lookups,
    where building the union as a set cost ~50 ms per question at 100,000 passages."""

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

    def ascii_terms(self) -> set[str]:
        """The all-ASCII terms (see `BM25Index.ascii_terms`)."""
        return {term for index in self._indexes for term in index.ascii_terms()}


def build_fields(
    transcripts: Iterable[Transcript],
    language: str,
    tokenizer: ChineseTokenizer,
    progress: Callable[[int], None] | None = None,
    characters: set[str] | None = None,
) -> FieldIndex:
    """Tokenise one language's passages into the three search fields.

    Each distinct text (a passage, or a turn's question with its section title) is
    tokenised once, over every core when the library is big (`bot.forked`).
    ``progress`` is told how many passages are tokenised so far, every few thousand;
    ``characters`` receives every character of the normalised texts.
    """
    def tokens(text: str) -> tuple[list[str], str]:
        """The text's tokens, and its normalised form (for its characters)."""
        normal = normalize(text)
        if language == "en":
            return tokenize_english(text), normal
        return tokenizer.tokens(normal, normalized=True), normal

    distinct: dict[str, int] = {}  # text → its number among the texts to tokenise
    rows: list[int] = []
    text_of_row: list[int] = []
    context_of_row: list[int] = []
    turn_of_row: list[int] = []
    position: list[int] = []
    n_turns = 0
    offset = 0
    number = distinct.setdefault
    for transcript in transcripts:
        host_text: dict[int, str] = {}
        last_host = ""
        for turn in transcript.turns:
            if turn.role == HOST:
                last_host = " ".join(transcript.passages[i].text for i in turn.passage_indices)
            host_text[turn.index] = last_host if turn.role != HOST else ""
        turn_rows: dict[int, int] = {}
        # Every paragraph of a turn shares its question (and usually its section): each
        # (turn, section) context is built and looked up once.
        contexts: dict[tuple[int, str], int] = {}
        turns = transcript.turns
        for passage in transcript.passages:
            if passage.language != language:
                continue
            turn = passage.turn
            if turn not in turn_rows:
                turn_rows[turn] = n_turns
                n_turns += 1
            rows.append(offset + passage.index)
            text_of_row.append(number(passage.text, len(distinct)))
            key = (turn, passage.section)
            context = contexts.get(key)
            if context is None:
                context = contexts[key] = number(
                    host_text[turn] + " " + passage.section, len(distinct)
                )
            context_of_row.append(context)
            turn_of_row.append(turn_rows[turn])
            position.append(turns[turn].passage_indices.index(passage.index))
        offset += len(transcript.passages)

    def tokenised(done: int) -> None:
        if progress is not None:
            progress(len(rows) * done // max(len(distinct), 1))

    # Workers send each chunk back as numbers into their own vocabulary, with the words that
    # vocabulary gained (cheap to pickle); here those merge into one vocabulary, and every
    # field is cut from it.
    vocabulary: dict[str, int] = {}
    number_of: dict[int, np.ndarray] = {}  # per worker: its numbers → the merged ones
    flat_parts: list[np.ndarray] = []
    length_parts: list[np.ndarray] = []
    for worker, new, ids, lengths, chars in map_chunks_forked(
        _ChunkTokeniser(tokens), list(distinct), progress=tokenised
    ):
        merged = [vocabulary.setdefault(term, len(vocabulary)) for term in new]
        known = number_of.get(worker, np.zeros(0, dtype=np.int64))
        number_of[worker] = renumber = np.concatenate([known, np.array(merged, np.int64)])
        flat_parts.append(renumber[ids])
        length_parts.append(lengths)
        if characters is not None:
            characters.update(chars)
    flat = np.concatenate(flat_parts) if flat_parts else np.zeros(0, dtype=np.int64)
    lengths = np.concatenate(length_parts) if length_parts else np.zeros(0, dtype=np.int64)
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    terms = list(vocabulary)
    texts = np.array(text_of_row, dtype=np.int64)
    turns = np.array(turn_of_row, dtype=np.int64)

    def field(
        documents: np.ndarray, doc_len: np.ndarray | None = None, like: BM25Index | None = None
    ) -> BM25Index:
        """The index whose documents are the distinct texts ``documents``, in order (with
        ``doc_len``: consecutive runs of them joined into one document each)."""
        picked, picked_len = _gather(flat, starts, lengths, documents)
        return BM25Index.build_from_ids(
            picked, picked_len if doc_len is None else doc_len, terms, share_terms_with=like
        )

    # A turn's tokens are its paragraphs' tokens, in order: no need to segment twice.
    by_turn = np.argsort(turns, kind="stable")
    turn_len = np.bincount(turns, weights=lengths[texts], minlength=n_turns).astype(np.int64)
    text = field(texts)
    return FieldIndex(
        passage_rows=np.array(rows, dtype=np.int64),
        text=text,
        context=field(np.array(context_of_row, dtype=np.int64)),
        turn=field(texts[by_turn], turn_len, like=text),  # the same words, regrouped
        turn_of_row=turns,
        position=np.array(position, dtype=np.int64),
    )


class _ChunkTokeniser:
    """Tokenises chunks of texts in one worker process, numbering tokens by the worker's own
    vocabulary, which grows from chunk to chunk.

    Each chunk gives (this process, the words its vocabulary gained, every token as its
    number, tokens per text, every character seen). A worker's chunks reach the parent in
    the order it tokenised them (tasks are handed out and returned in order), so the parent
    can follow each worker's numbering.
    """

    def __init__(self, tokens: Callable[[str], tuple[list[str], str]]) -> None:
        self.tokens = tokens
        self.vocabulary: dict[str, int] = {}

    def __call__(
        self, texts: Sequence[str]
    ) -> tuple[int, list[str], np.ndarray, np.ndarray, str]:
        vocabulary = self.vocabulary
        before = len(vocabulary)
        assign = vocabulary.setdefault
        ids: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        characters: set[str] = set()
        for at, text in enumerate(texts):
            found, normal = self.tokens(text)
            ids.extend([assign(token, len(vocabulary)) for token in found])
            lengths[at] = len(found)
            characters.update(normal)
        new = list(itertools.islice(vocabulary, before, None))
        return os.getpid(), new, np.array(ids, dtype=np.int32), lengths, "".join(characters)


def _gather(
    flat: np.ndarray, starts: np.ndarray, lengths: np.ndarray, picks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The segments ``flat[starts[i]:starts[i] + lengths[i]]`` for ``i`` in ``picks``, back
    to back, and their lengths."""
    picked_len = lengths[picks]
    ends = np.cumsum(picked_len)
    offsets = np.repeat(starts[picks] - (ends - picked_len), picked_len)
    return flat[offsets + np.arange(int(ends[-1]) if len(ends) else 0)], picked_len
