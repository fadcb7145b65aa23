"""A question as people type it → a question in the interview's words.

Before a question is tokenised it is rewritten once:

* nicknames and community slang become the interview's words (``老马`` → ``马斯克``,
  ``显卡`` → ``GPU``): general ones from ``aliases.json`` beside this module, an interview's
  own from its metadata (``"aliases"``); when the index itself uses the typed word, it is
  kept beside its replacement;
* a Latin word the index does not know is corrected to the nearest index word by edit
  distance (``fintune`` → ``finetune``, ``trasformer`` → ``transformer``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from bot.text.normalize import normalize

LATIN_WORD_RE = re.compile(r"[a-z][a-z\-]+")
HAN_RE = re.compile(r"[\u3400-\u9fff]")
MIN_CORRECTED_LENGTH = 4  # shorter Latin words have too many neighbours to correct safely
LONG_WORD = 7  # words this long may be two edits off; shorter ones one


@dataclass(frozen=True)
class GeneralVocabulary:
    """The vocabulary shipped with the bot: segmentation terms and aliases, normalised."""

    terms: tuple[str, ...]
    aliases: dict[str, str]


@lru_cache(maxsize=1)
def general_vocabulary() -> GeneralVocabulary:
    raw = json.loads(resources.files("bot.text").joinpath("aliases.json").read_text("utf-8"))
    return GeneralVocabulary(
        terms=tuple(normalize(t) for t in raw.get("terms", ())),
        aliases={normalize(k): normalize(v) for k, v in raw.get("aliases", {}).items()},
    )


def merged_aliases(per_interview: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """General aliases, then each interview's own (which win on a clash)."""
    aliases = dict(general_vocabulary().aliases)
    for table in per_interview:
        aliases.update({normalize(k): normalize(v) for k, v in table.items()})
    return aliases


class AliasRewriter:
    """Applies aliases and Latin typo correction to a normalised question."""

    def __init__(
        self,
        aliases: Mapping[str, str],
        known: Collection[str],
        known_latin: Iterable[str] | None = None,
    ) -> None:
        """``known``: the library's terms; ``known_latin``: the all-ASCII ones among them,
        when the caller can list them without reading every term."""
        self.aliases = dict(aliases)
        self.known = known
        self.pattern = alias_pattern(self.aliases)
        if known_latin is None:
            known_latin = (w for w in known if w.isascii())
        latin = set(known_latin) | {a for a in self.aliases if a.isascii()}
        self.latin = latin
        self._candidates = sorted(
            w for w in latin if len(w) >= MIN_CORRECTED_LENGTH and w.isalpha()
        )
        # A typed word kept beside its replacement is one ask with it: word → its group.
        self.alternatives: dict[str, frozenset[str]] = {}
        for alias, target in self.aliases.items():
            words = target.split()
            if len(words) > 1 and alias in words or alias in self.known:
                group = frozenset([alias, *words])
                self.alternatives.update(dict.fromkeys(group, group))

    def rewrite(self, text: str) -> str:
        """``text`` (normalised) in the interview's words."""
        text = LATIN_WORD_RE.sub(lambda m: self._correct(m.group(0)), text)
        if self.pattern is not None:
            # An English question stays English: no Chinese words are put into it.
            latin_only = not HAN_RE.search(text)
            text = self.pattern.sub(lambda m: self._replace(m, latin_only), text)
        return " ".join(text.split())

    def _replace(self, match: re.Match[str], latin_only: bool) -> str:
        alias = match.group(0)
        target = self.aliases[alias]
        if latin_only and not target.isascii():
            return alias
        if alias in self.known and alias not in target.split():
            return f" {alias} {target} "
        return f" {target} "

    def _correct(self, word: str) -> str:
        if word in self.latin or len(word) < MIN_CORRECTED_LENGTH:
            return word
        limit = 1 if len(word) < LONG_WORD else 2
        best: list[str] = []
        best_distance = limit + 1
        for candidate in self._candidates:
            distance = edit_distance(word, candidate, limit)
            if distance < best_distance:
                best, best_distance = [candidate], distance
            elif distance == best_distance and distance <= limit:
                best.append(candidate)
        return best[0] if len(best) == 1 else word


def alias_pattern(aliases: Mapping[str, str]) -> re.Pattern[str] | None:
    """One regex over every alias, longest first; Latin aliases only on word boundaries."""
    if not aliases:
        return None
    parts = []
    for alias in sorted(aliases, key=len, reverse=True):
        escaped = re.escape(alias)
        parts.append(rf"(?<![a-z]){escaped}(?![a-z])" if alias[:1].isascii() else escaped)
    return re.compile("|".join(parts))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]
