"""Where sentences end — the one home of sentence splitting.

Three callers need different cuts of the same idea, kept side by side here so they stay in
step: snippets, saved quotes and the first answer line of /topics cut a passage into pieces
that concatenate back to it (`split_sentences`); captions re-join timed lines into whole
sentences and must not end one at "Mr." (`sentence_spans`); the article parser finds a host
turn's question among its full-width-punctuated sentences (`full_width_sentences`). Merging
them would change ranking or display figures, so each keeps its own cut.
"""

from __future__ import annotations

import re

_FULL_WIDTH_SENTENCE = re.compile("[^\u3002!?\uff01\uff1f]+[\u3002!?\uff01\uff1f]*")


def split_sentences(text: str) -> list[str]:
    """Sentences with their closing punctuation, concatenating back to ``text``."""
    parts: list[str] = []
    start = 0
    for match in re.finditer(r"[\u3002!?\uff01\uff1f;\uff1b\u2026]+|[.!?]+(?=\s|$)", text):
        end = match.end()
        parts.append(text[start:end])
        start = end
    if start < len(text):
        parts.append(text[start:])
    return [p for p in parts if p]


def full_width_sentences(text: str) -> list[str]:
    """Runs of text each closed by 。！？ (or ASCII ! ?); the last may lack one. The article
    parser finds a host turn's question among these."""
    return _FULL_WIDTH_SENTENCE.findall(text)


def full_width_sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each of `full_width_sentences`, so a run of them can be cut from
    ``text`` with the spacing it has between them ("Nick? I'm going to…")."""
    return [match.span() for match in _FULL_WIDTH_SENTENCE.finditer(text)]


# English ends a sentence with . ? ! (possibly several, possibly a closing quote) before
# whitespace or the end; Chinese full-width 。？！ end one wherever they stand.
_SENTENCE_END = re.compile(
    r"(?:[.?!]+[\"'”’)\]]*(?=\s|$)|[。？！]+[”’」』）)]*|[?!]+[”’」』）]*(?=[\u3400-\u9fff]))"
)
# "Mr. Musk" must not end a sentence; kept short on purpose (captions rarely abbreviate).
_ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e."})


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the sentences in ``text``; the last may lack
    final punctuation (captions often trail off)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        word = text[text.rfind(" ", 0, end) + 1 : end].lower()
        if word in _ABBREVIATIONS:
            continue
        _append_span(text, start, end, spans)
        start = end
    _append_span(text, start, len(text), spans)
    return spans


def _append_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))
