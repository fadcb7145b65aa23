"""Cut a long passage down to its best sentences and find where the matched terms are.

The core returns plain text plus highlight spans; each adapter decides how to show them
(`mark` with ``**`` for Discord, brackets in a terminal), so escaping stays an adapter concern.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from bot.model import ELLIPSIS
from bot.text.normalize import normalize, normalize_with_map
from bot.text.sentences import split_sentences


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping and touching ones joined, empty ones dropped.

    Words matched side by side (马斯克|管理|公司) are one highlight: marked separately they
    would render as ``**马斯克****管理****公司**``, where Markdown shows the asterisks.
    """
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def find_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Highlight spans in ``text`` where normalised ``terms`` occur: sorted, and merged where
    matches touch (see `merge_spans`)."""
    normalized, mapping = normalize_with_map(text)
    spans: list[tuple[int, int]] = []
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        needle = term.replace("_", " ")
        pattern = re.escape(needle)
        if needle.isascii() and needle[:1].isalnum():
            pattern = rf"(?<![a-z0-9]){pattern}(?![a-z0-9])"
        for match in re.finditer(pattern, normalized):
            if not mapping or match.end() - 1 >= len(mapping):
                continue
            start, end = mapping[match.start()], mapping[match.end() - 1] + 1
            if all(end <= s or start >= e for s, e in spans):
                spans.append((start, end))
    return merge_spans(spans)


def best_window(
    text: str,
    terms: Mapping[str, float],
    max_chars: int = 300,
) -> tuple[str, list[tuple[int, int]]]:
    """The passage trimmed at sentence boundaries around its best sentences, with spans.

    ``terms`` maps matched tokens to their weight (idf), so the sentence holding the rarest
    matched words wins; neighbours are added while they fit.
    """
    sentences = split_sentences(text)
    if len(text) <= max_chars or len(sentences) <= 1:
        window = text if len(text) <= max_chars else text[: max_chars - 1] + ELLIPSIS
        return window, [s for s in find_spans(window, terms) if s[1] <= len(window)]
    scores = []
    for sentence in sentences:
        normalized = normalize(sentence)
        scores.append(sum(weight for term, weight in terms.items() if term in normalized))
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    first = last = best
    length = len(sentences[best])
    while True:
        grown = False
        for candidate in (last + 1, first - 1):
            if 0 <= candidate < len(sentences) and length + len(sentences[candidate]) <= max_chars:
                length += len(sentences[candidate])
                first, last = min(first, candidate), max(last, candidate)
                grown = True
                break
        if not grown:
            break
    window = "".join(sentences[first : last + 1]).strip()
    if len(window) > max_chars:
        window = window[: max_chars - 1]
        last = len(sentences)  # force the trailing ellipsis
    prefix = ELLIPSIS if first > 0 else ""
    suffix = ELLIPSIS if last < len(sentences) - 1 else ""
    shown = prefix + window + suffix
    return shown, find_spans(shown, terms)


def mark(
    text: str,
    spans: Iterable[tuple[int, int]],
    *,
    before: str = "**",
    after: str = "**",
    escape: Callable[[str], str] = lambda s: s,
) -> str:
    """Render ``text`` with each span wrapped, escaping everything else with ``escape``.

    Touching or overlapping spans become one marked run (`merge_spans`), so markers never
    meet (no ``****``); spans are clipped to the text."""
    out: list[str] = []
    cursor = 0
    clipped = ((max(0, s), min(len(text), e)) for s, e in spans)
    for start, end in merge_spans(clipped):
        out.append(escape(text[cursor:start]))
        out.append(before + escape(text[start:end]) + after)
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)
