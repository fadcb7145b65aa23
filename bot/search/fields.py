"""The three BM25 search fields of one language's passages (see `bot.search.rank` for why)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from bot.forked import map_forked
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
        normal = normalize(text)
        if language == "en":
            return tokenize_english(text), "".join(set(normal))
        return tokenizer.tokens(normal, normalized=True), "".join(set(normal))

    distinct: dict[str, int] = {}  # text → its number among the texts to tokenise
    rows: list[int] = []
    text_of_row: list[int] = []
    context_of_row: list[int] = []
    turn_of_row: list[int] = []
    position: list[int] = []
    n_turns = 0
    offset = 0
    for transcript in transcripts:
        host_text: dict[int, str] = {}
        last_host = ""
        for turn in transcript.turns:
            if turn.role == HOST:
                last_host = " ".join(transcript.passages[i].text for i in turn.passage_indices)
            host_text[turn.index] = last_host if turn.role != HOST else ""
        turn_rows: dict[int, int] = {}
        for passage in transcript.passages:
            if passage.language != language:
                continue
            if passage.turn not in turn_rows:
                turn_rows[passage.turn] = n_turns
                n_turns += 1
            rows.append(offset + passage.index)
            text_of_row.append(distinct.setdefault(passage.text, len(distinct)))
            # Every paragraph of a turn shares its question (and usually its section).
            context = host_text[passage.turn] + " " + passage.section
            context_of_row.append(distinct.setdefault(context, len(distinct)))
            turn_of_row.append(turn_rows[passage.turn])
            position.append(transcript.turns[passage.turn].passage_indices.index(passage.index))
        offset += len(transcript.passages)

    def tokenised(done: int) -> None:
        if progress is not None:
            progress(len(rows) * done // max(len(distinct), 1))

    token_lists: list[list[str]] = []
    for found, chars in map_forked(tokens, list(distinct), progress=tokenised):
        token_lists.append(found)
        if characters is not None:
            characters.update(chars)
    text_docs = [token_lists[i] for i in text_of_row]
    context_docs = [token_lists[i] for i in context_of_row]
    # A turn's tokens are its paragraphs' tokens: no need to segment the text twice.
    turn_docs: list[list[str]] = [[] for _ in range(n_turns)]
    for row, turn_row in enumerate(turn_of_row):
        turn_docs[turn_row].extend(text_docs[row])
    return FieldIndex(
        passage_rows=np.array(rows, dtype=np.int64),
        text=BM25Index.build(text_docs),
        context=BM25Index.build(context_docs),
        turn=BM25Index.build(turn_docs),
        turn_of_row=np.array(turn_of_row, dtype=np.int64),
        position=np.array(position, dtype=np.int64),
    )
