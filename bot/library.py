"""A folder of interviews, indexed for search: the one object every adapter talks to.

`Library.load` parses every transcript in the data dir (all-or-nothing: one bad file stops
the load with its file and line), builds per-language BM25 fields, and keeps them in an
on-disk cache beside the data so a large library starts in a second. `Library.ask` is the
path of every question, from `/ask` and `quotebot ask` alike.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot import index_cache
from bot.crosslingual import Lexicon, translate
from bot.datadir import default_data_dirs, transcript_files
from bot.english import english_words, tokenize_english
from bot.metadata import TranscriptMeta
from bot.model import HOST, Answer, Hit, Passage, Transcript
from bot.search import (
    MIN_COVERAGE,
    SYNONYM_CREDIT,
    SYNONYM_WEIGHT,
    TRANSLATION_CREDIT,
    FieldIndex,
    QueryUnit,
    build_fields,
    rank,
    units_for,
)
from bot.snippet import best_window
from bot.textnorm import ChineseTokenizer, normalize, normalize_with_map, script_of
from bot.topics import TopicTranscript, table_of_contents
from bot.usertext import visible_text

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
SPEAKERS = ("guest", "any")


class LibraryError(Exception):
    """The data dir cannot be served; the message is one line for an operator."""


class QueryError(ValueError):
    """A question we refuse before searching; the message is for the person who asked."""


@dataclass(frozen=True)
class QuoteMatch:
    """Where a proposed quote stands in the interview, if anywhere.

    ``quote_text`` is the span exactly as the transcript has it, so what gets saved is the
    speaker's wording, not the typist's; ``key`` is its normalised form for duplicates.
    """

    found: bool
    passage: Passage | None
    key: str
    quote_text: str
    suggestion: Passage | None


def clean_query(query: str) -> str:
    """Refuse what cannot be a question; drop invisible control characters."""
    if query is None or not query.strip():
        raise QueryError("Please type a question, e.g. 规模重要吗?")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(
            f"That question is {len(query)} characters long; please keep it under "
            f"{MAX_QUERY_CHARS}."
        )
    cleaned = visible_text(query)
    if not cleaned:
        raise QueryError("That question has only invisible characters; please type words.")
    return cleaned


class Library:
    """Every transcript of a data dir with its search fields; immutable once loaded."""

    def __init__(
        self,
        transcripts: Sequence[Transcript],
        tokenizer: ChineseTokenizer,
        fields: dict[str, FieldIndex],
        lexicons: dict[str, Lexicon],
        data_dir: Path | None = None,
        synonyms: Lexicon | None = None,
    ) -> None:
        self.transcripts = tuple(transcripts)
        self.data_dir = data_dir
        self.tokenizer = tokenizer
        self.passages: list[Passage] = [p for t in self.transcripts for p in t.passages]
        self._by_id = {p.id: p for p in self.passages}
        self._transcripts_by_id = {t.id: t for t in self.transcripts}
        self.fields = fields
        self.lexicons = lexicons
        self.synonyms = synonyms or {}
        self._roles = np.array([p.role for p in self.passages])
        self._owner = np.array([p.transcript_id for p in self.passages])
        self._topics: list[TopicTranscript] | None = None
        self._quote_haystacks: list[tuple[str, list[int]]] | None = None
        self.speaker_tokens = self._speaker_tokens()

    def _speaker_tokens(self) -> set[str]:
        """Tokens that only name a speaker ("Karpathy", "卡帕西"): every passage of an
        interview is by its speakers, so their names say nothing about which passage."""
        names: set[str] = set()
        for transcript in self.transcripts:
            names.update([transcript.guest, transcript.host])
        labels = {normalize(n) for n in names}
        for name in names:
            labels.update(re.findall(r"[\w]+", normalize(name)))
        tokens: set[str] = set()
        for label in labels:
            tokens.update(self.tokenizer.tokens(label))
            tokens.update(tokenize_english(label))
        return tokens

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        data_dir: Path | str | Sequence[Path] | None = None,
        *,
        cache_dir: Path | None = None,
        use_cache: bool = True,
    ) -> Library:
        """Load one data dir, several (served together), or by default the bundled
        interview plus the user's data dir (`bot.datadir.default_data_dirs`)."""
        if data_dir is None:
            folders = default_data_dirs()
        elif isinstance(data_dir, (str, Path)):
            folders = [Path(data_dir)]
        else:
            folders = [Path(d) for d in data_dir]
        files: list[Path] = []
        for folder in folders:
            if not folder.is_dir():
                raise LibraryError(f"data dir {folder} does not exist or is not a folder")
            try:
                files.extend(transcript_files(folder))
            except OSError as exc:
                raise LibraryError(f"cannot read data dir {folder}: {exc.strerror}") from None
        if not files:
            where = ", ".join(map(str, folders))
            raise LibraryError(f"no transcripts (*.txt, *.srt, *.vtt) in {where}")
        return index_cache.load_or_build(cls, folders, files, cache_dir, use_cache)

    @classmethod
    def from_transcripts(
        cls, transcripts: Sequence[Transcript], metas: Sequence[TranscriptMeta],
        data_dir: Path | None = None,
    ) -> Library:
        """Build every field from parsed transcripts (the cache calls this on a miss)."""
        from bot.crosslingual import build_lexicon, build_synonyms

        ids = [t.id for t in transcripts]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise LibraryError(f"two transcripts share the id {sorted(duplicates)[0]!r}")
        tokenizer = ChineseTokenizer(term for m in metas for term in m.terms)
        passages = [p for t in transcripts for p in t.passages]
        fields: dict[str, FieldIndex] = {}
        for language in sorted({p.language for p in passages}):
            fields[language] = build_fields(transcripts, language, tokenizer)
        tokenizer.restrict_to(
            {c for p in passages for c in normalize(f"{p.text}{p.question}{p.section}")}
            | {c for term in tokenizer.terms for c in term}
        )
        lexicons: dict[str, Lexicon] = {}
        synonyms: Lexicon = {}
        if "zh" in fields:
            synonyms = build_synonyms(fields["zh"].vocabulary, english_tokens=tokenize_english)
            lexicons["zh"] = build_lexicon(
                fields["zh"].vocabulary,
                glossaries=[m.glossary for m in metas],
                english_tokens=tokenize_english,
                chinese_tokens=tokenizer.tokens,
            )
        return cls(transcripts, tokenizer, fields, lexicons, data_dir, synonyms)

    # ------------------------------------------------------------------ queries
    def tokens(self, text: str, language: str) -> list[str]:
        return tokenize_english(text) if language == "en" else self.tokenizer.tokens(text)

    def words(self, text: str, language: str) -> list[tuple[str, list[str]]]:
        if language == "en":
            return [(t, [t]) for t in tokenize_english(text)]
        return self.tokenizer.words(text)

    def _units(self, query: str, language: str) -> list[QueryUnit]:
        """Query units for one language's index, translating an English question if needed."""
        index = self.fields[language]
        asked_in = script_of(query)
        if asked_in == language or language not in self.lexicons:
            units = [u for u in units_for(self.words(query, language), index)
                     if not set(u.tokens) <= self.speaker_tokens]
            return [self._with_synonyms(u, index) for u in units]
        units: list[QueryUnit] = []
        vocabulary = index.vocabulary
        for raw, word in dict.fromkeys(english_words(query)):
            if word in self.speaker_tokens:
                continue
            # An English term inside Chinese text is indexed as written: "gpus" → "gpu".
            as_written = next(
                (w for w in (raw, raw.removesuffix("s")) if w in vocabulary and w != word), None
            )
            tokens, weights = translate([word], self.lexicons[language], vocabulary)
            if as_written is not None:
                tokens, weights = [as_written, *tokens], [1.0, *weights]
            if not tokens:
                units.append(QueryUnit(word, (), (), index.text.max_idf))
                continue
            if any(set(u.tokens) == set(tokens) for u in units):
                continue  # "Elon Musk": two words, one person, one ask
            idf = max(units_for([(t, [t]) for t in tokens], index), key=lambda u: u.idf).idf
            # A dictionary translation is a guess at the sense ("capital": 首都 or 资金?).
            credit = 1.0 if word in vocabulary or as_written else TRANSLATION_CREDIT
            units.append(QueryUnit(word, tuple(tokens), tuple(weights), idf, credit))
        return units

    def _with_synonyms(self, unit: QueryUnit, index: FieldIndex) -> QueryUnit:
        """A word the interview never uses is looked for through its synonyms, for half
        credit: 差别 finds 区别, but a near-miss must not count as a full answer."""
        if any(index.text.doc_freq(t) or index.context.doc_freq(t) for t in unit.tokens):
            return unit
        targets = self.synonyms.get(unit.surface)
        if not targets:
            return unit
        return QueryUnit(
            unit.surface,
            tuple(t for t, _ in targets),
            tuple(SYNONYM_WEIGHT * w for _, w in targets),
            unit.idf,
            SYNONYM_CREDIT,
        )

    def ask(
        self,
        query: str,
        top: int = 1,
        speaker: str = "guest",
        interview: str | None = None,
        offset: int = 0,
    ) -> Answer:
        """The best passages for ``query``, or an unanswered `Answer` when not covered."""
        query = clean_query(query)
        if speaker not in SPEAKERS:
            raise QueryError(f"speaker must be one of {', '.join(SPEAKERS)}")
        if interview is not None and interview not in self._transcripts_by_id:
            raise QueryError(f"no interview called {interview!r}; see /topics for the list")
        top = max(1, min(int(top), 25))
        offset = max(0, int(offset))
        hits: list[Hit] = []
        for language in self._languages_for(query):
            hits = self._ask_language(query, language, top + offset, speaker, interview)
            if hits:
                break
        hits = hits[offset : offset + top]
        suggestions = () if hits else tuple(self.suggest_topics(interview))
        return Answer(query=query, hits=tuple(hits), suggestions=suggestions)

    def _languages_for(self, query: str) -> list[str]:
        """The question's own language first, then the others (English → Chinese etc.)."""
        first = script_of(query)
        return sorted(self.fields, key=lambda lang: (lang != first, lang))

    def _ask_language(
        self, query: str, language: str, limit: int, speaker: str, interview: str | None
    ) -> list[Hit]:
        index = self.fields[language]
        units = self._units(query, language)
        if not any(u.tokens for u in units):
            return []
        rows = index.passage_rows
        allowed = (self._roles[rows] != HOST) if speaker == "guest" else None
        if interview is not None:
            mine = self._owner[rows] == interview
            allowed = mine if allowed is None else allowed & mine
        ranked = rank(index, units, allowed=allowed, limit=max(limit, 10))
        if not ranked or max(r.coverage for r in ranked[:3]) < MIN_COVERAGE:
            return []
        idf = {t: u.idf for u in units for t in u.tokens}
        hits = []
        for item in ranked[:limit]:
            passage = self.passages[int(rows[item.row])]
            terms = {t: idf.get(t, 1.0) for t in item.matched}
            snippet, spans = best_window(passage.text, terms)
            hits.append(
                Hit(
                    passage=passage,
                    score=item.score,
                    snippet=snippet,
                    highlights=tuple(spans),
                    matched_terms=item.matched,
                    interview=self._transcripts_by_id[passage.transcript_id].title,
                )
            )
        return hits

    # ------------------------------------------------------------------ browsing
    def topics(self) -> list[TopicTranscript]:
        if self._topics is None:
            self._topics = [
                table_of_contents(t, lambda text, lang=t.language: self.tokens(text, lang))
                for t in self.transcripts
            ]
        return self._topics

    def suggest_topics(self, interview: str | None = None, count: int = 3) -> list[str]:
        """A few section titles to offer when a question is not covered."""
        per_interview = [
            [s.title for s in t.sections] for t in self.transcripts if interview in (None, t.id)
        ]
        # Round-robin, so a library of several interviews suggests from each, not the first.
        titles = [
            titles[i] for i in range(max(map(len, per_interview), default=0))
            for titles in per_interview if i < len(titles)
        ]
        return titles[:count]

    def passage(self, passage_id: str) -> Passage | None:
        return self._by_id.get(passage_id)

    def transcript(self, transcript_id: str) -> Transcript | None:
        return self._transcripts_by_id.get(transcript_id)

    # ------------------------------------------------------------------ quotes
    def find_quote(self, text: str) -> QuoteMatch:
        """Find ``text`` in the interview, ignoring punctuation, spacing and script."""
        key, _ = compact(text)
        if self._quote_haystacks is None:
            self._quote_haystacks = [compact(p.text) for p in self.passages]
        if key:
            for passage, (haystack, mapping) in zip(
                self.passages, self._quote_haystacks, strict=True
            ):
                at = haystack.find(key)
                if at >= 0:
                    start, end = mapping[at], mapping[at + len(key) - 1] + 1
                    return QuoteMatch(True, passage, key, passage.text[start:end].strip(), None)
        suggestion = None
        try:
            answer = self.ask(text[:MAX_QUERY_CHARS], top=1, speaker="any")
            suggestion = answer.hits[0].passage if answer.hits else None
        except QueryError:
            pass
        return QuoteMatch(False, None, key, "", suggestion)


def compact(text: str) -> tuple[str, list[int]]:
    """Normalised text without punctuation or spaces, mapped back to original positions."""
    normalized, positions = normalize_with_map(text)
    kept = [i for i, c in enumerate(normalized) if unicodedata.category(c)[0] in "LN"]
    return "".join(normalized[i] for i in kept), [positions[i] for i in kept]
