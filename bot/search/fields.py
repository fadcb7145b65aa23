"""The three BM25 search fields of one language's passages (see `bot.search.rank` for why)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from bot.model import HOST, Transcript
from bot.search.bm25 import BM25Index
from bot.text.chinese import ChineseTokenizer
from bot.text.english import tokenize_english


@dataclass
class FieldIndex:
    """The three BM25 fields of one language's passages; row i of text/context is passage i."""

    passage_rows: np.ndarray  # global passage index of each row
    text: BM25Index
    context: BM25Index
    turn: BM25Index
    turn_of_row: np.ndarray  # row → row of ``turn``
    position: np.ndarray  # row → paragraph number within its turn (0 = opens the answer)

    @property
    def vocabulary(self) -> set[str]:
        return set(self.text.vocabulary) | set(self.context.vocabulary)


def build_fields(
    transcripts: Iterable[Transcript], language: str, tokenizer: ChineseTokenizer
) -> FieldIndex:
    """Tokenise one language's passages into the three search fields."""
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
        offset += len(transcript.passages)
    return FieldIndex(
        passage_rows=np.array(rows, dtype=np.int64),
        text=BM25Index.build(text_docs),
        context=BM25Index.build(context_docs),
        turn=BM25Index.build(turn_docs),
        turn_of_row=np.array(turn_of_row, dtype=np.int64),
        position=np.array(position, dtype=np.int64),
    )
