"""English tokens for the BM25 index: the counterpart of the Chinese jieba pipeline.

A question and its answer rarely use the same word forms ("Does scale matter?" against
"scale is definitely number one", "meetings" against "meeting"), so tokens are case-folded,
stripped of grammatical words that every passage shares, and reduced to Snowball stems.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Protocol

log = logging.getLogger(__name__)

__all__ = ["ENGLISH_STOP_WORDS", "english_words", "stem", "tokenize_english"]

# Grammatical words, question words and spoken fillers. Deliberately compact: BM25's IDF
# already discounts common content words, and an over-long list would eat words such as
# "number" or "first" that questions are really about. Negations stay out of the index too:
# BM25 cannot use them, and they would only reward passages for sharing "not".
_STOP_WORD_TEXT = """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's will with won't
    would wouldn't you you'd you'll you're you've your yours yourself yourselves
    also just really actually yeah yes oh ok okay um uh hmm gonna wanna tell
    say says said saying think thinks thought talk talks talked talking mention mentioned
    opinion opinions view views feel feels explain explained many much
"""
# The second line above: verbs that frame a question about an interview ("what did he say
# about", "what does he think of") name no topic, like 说 / 认为 / 看法 on the Chinese side.
ENGLISH_STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())

# Letters and digits, keeping apostrophes inside words ("don't", "karpathy's") and decimal
# points inside numbers ("1.5"); hyphens and slashes split ("gpt-4" -> "gpt", "4").
_TOKEN = re.compile(r"\d+(?:\.\d+)+|[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...  # both libraries spell it so


@lru_cache(maxsize=1)
def _stemmer() -> _Stemmer:
    """PyStemmer (C, fast) when installed, else the pure-Python Snowball port: same stems."""
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:
        import snowballstemmer

        log.info("PyStemmer unavailable; using the pure-Python snowballstemmer")
        return snowballstemmer.stemmer("english")


def stem(word: str) -> str:
    """Snowball (Porter 2) English stem of one lower-case word."""
    return _stemmer().stemWord(word)


def english_words(text: str) -> list[tuple[str, str]]:
    """(word, stem) pairs of English ``text``, stop words dropped, in order.

    The unstemmed word matters where English meets a Chinese index, whose embedded English
    terms are kept as written ("windows", "gpu"), not stemmed.
    """
    folded = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    pairs: list[tuple[str, str]] = []
    stem_word = _stemmer().stemWord
    for word in _TOKEN.findall(folded):
        if word in ENGLISH_STOP_WORDS:
            continue
        word = word.removesuffix("'s")  # possessive; "it's" and "that's" are stop words
        if word in ENGLISH_STOP_WORDS or (len(word) == 1 and not word.isdigit()):
            continue
        pairs.append((word, stem_word(word)))
    return pairs


def tokenize_english(text: str) -> list[str]:
    """Search tokens of English ``text``: folded, stop words dropped, stemmed, in order."""
    return [word_stem for _, word_stem in english_words(text)]
