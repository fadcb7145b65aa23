"""A folder of interviews, indexed for search: the one object every front end talks to.

`Library.load` parses every transcript in the data dir (all-or-nothing: one bad file stops
the load with its file and line), builds per-language BM25 fields, and keeps them in an
on-disk cache (`bot.index_cache`) so a large library starts in a second. `Library.ask` is the
path of every question, from `/ask` and `quotebot ask` alike: `bot.search.query` turns it into
units, `bot.search.rank` orders passages, `bot.search.snippet` cuts the shown text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot import index_cache
from bot.formats.datadir import default_data_dirs, load_transcript, transcript_files
from bot.formats.metadata import TranscriptMeta, load_meta
from bot.index_cache import LibraryParts
from bot.model import (
    ELLIPSIS,
    HOST,
    N_,
    Answer,
    Hit,
    LibraryError,
    Passage,
    QueryError,
    Transcript,
)
from bot.packed import RecordTable
from bot.search import semantic
from bot.search.fields import FieldIndex, build_fields
from bot.search.leadins import is_lead_in, quote_units
from bot.search.query import (
    MAX_QUERY_CHARS,
    QueryAnalyzer,
    clean_query,
    guest_names,
    speaker_tokens,
)
from bot.search.rank import (
    ANSWER,
    DECIDING_PASSAGES,
    NOT_COVERED,
    POOL,
    best_first,
    covered,
    decide,
    fuse,
    named_across_languages,
    rank,
    shown,
    with_turn_context,
)
from bot.search.semantic import SemanticIndex
from bot.search.snippet import best_window
from bot.text.aliases import merged_aliases
from bot.text.chinese import ChineseTokenizer, dictionary_for_terms, prefetch_dictionary
from bot.text.crosslingual import Lexicon, build_lexicon, build_synonyms
from bot.text.english import tokenize_english
from bot.text.normalize import (
    HAN_RE,
    matching_form_with_map,
    normalize,
    script_of,
)
from bot.text.thesaurus import build_cilin_synonyms, merge_synonyms
from bot.topics import TopicSection, TopicTranscript, find_section, table_of_contents

log = logging.getLogger(__name__)

SPEAKERS = ("guest", "any")
MAX_INTERVIEW_INPUT = 100  # an interview option holds an id or a title, like a choice value

__all__ = [
    "Library",
    "LibraryError",
    "QueryError",
    "QuoteMatch",
    "clean_query",
]

# Told (passages tokenised so far, passages in all) while a first build runs, so a front end
# can show progress; the core itself never prints.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class _Lexical:
    """Per passage: BM25 × coverage (0 where unranked) and coverage; matched tokens of the
    ranked passages; the IDF of the question's tokens (for snippets)."""

    scores: np.ndarray
    coverage: np.ndarray
    matched: dict[int, tuple[str, ...]]
    idf: dict[str, float]


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


def build_parts(
    transcripts: Sequence[Transcript],
    metas: Sequence[TranscriptMeta],
    progress: Progress | None = None,
    cedict_ready: Callable[[], object] | None = None,
) -> LibraryParts:
    """Build every field from parsed transcripts (what the cache stores). ``cedict_ready``
    waits for CC-CEDICT being read into its cache elsewhere (`index_cache.prefetch_cedict`).
    """
    ids = [t.id for t in transcripts]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise LibraryError(f"two transcripts share the id {sorted(duplicates)[0]!r}")
    terms = index_cache.tokenizer_terms(metas)
    passages = [p for t in transcripts for p in t.passages]
    # English text never goes through jieba: without Chinese passages, the tokenizer starts
    # from the part of jieba's dictionary that the terms' characters can make (see below).
    chinese = any(p.language != "en" for p in passages)
    if chinese:
        tokenizer = ChineseTokenizer(terms)
        tokenizer.accelerate()  # rjieba for the bulk of the text, when installed
    else:
        freq, total, han = dictionary_for_terms(terms)
        tokenizer = ChineseTokenizer(terms, dictionary=(freq, total))
    fields: dict[str, FieldIndex] = {}
    characters = {c for term in tokenizer.terms for c in term}
    done = 0
    for language in sorted({p.language for p in passages}):
        hook = None
        if progress is not None:
            def hook(count: int, before: int = done) -> None:
                progress(before + count, len(passages))
        fields[language] = build_fields(transcripts, language, tokenizer, hook, characters)
        done += len(fields[language].passage_rows)
    # Passages and their contexts (host question and section) gave their characters above.
    for question in {p.question for p in passages}:
        characters.update(normalize(question))
    if not chinese and any(HAN_RE.match(c) and c not in han for c in characters):
        tokenizer = ChineseTokenizer(terms)  # other Chinese words: the whole dictionary
    tokenizer.restrict_to(characters)
    lexicons: dict[str, Lexicon] = {}
    synonyms: Lexicon = {}
    if "zh" in fields:
        if cedict_ready is not None:
            cedict_ready()
        cedict = index_cache.cedict_entries(tokenize_english)
        vocabulary = set(fields["zh"].text.vocabulary).union(fields["zh"].context.vocabulary)
        synonyms = merge_synonyms(
            build_synonyms(vocabulary, english_tokens=tokenize_english, entries=cedict),
            build_cilin_synonyms(vocabulary, index_cache.thesaurus_groups()),
        )
        lexicons["zh"] = build_lexicon(
            vocabulary,
            glossaries=[m.glossary for m in metas],
            english_tokens=tokenize_english,
            chinese_tokens=tokenizer.tokens,
            entries=cedict,
        )
    aliases = merged_aliases(m.aliases for m in metas)
    return LibraryParts(
        transcripts, tokenizer, fields, lexicons, synonyms, aliases, index_cache.names(metas)
    )


def _embed(transcripts: Sequence[Transcript]) -> SemanticIndex | None:
    """Passage vectors for the semantic tier, with the host question each answer opens on
    and the paragraph before each later one of a turn."""
    if semantic.too_many(sum(len(t.passages) for t in transcripts)):
        return None  # before reading 100,000 passages out of their table for nothing
    passages = [p for t in transcripts for p in t.passages]
    follows = [
        i > 0 and passages[i - 1].turn == p.turn
        and passages[i - 1].transcript_id == p.transcript_id
        for i, p in enumerate(passages)
    ]
    questions = [
        p.question if p.role != HOST and p.question and not follows[i] else None
        for i, p in enumerate(passages)
    ]
    before = [passages[i - 1].text if follows[i] else None for i in range(len(passages))]
    opens = [follows[i] and is_lead_in(passages[i - 1].text, passages[i - 1].language)
             for i in range(len(passages))]
    return semantic.build([p.text for p in passages], questions, before, opens)


class Library:
    """Every transcript of a data dir with its search fields; immutable once loaded."""

    def __init__(
        self,
        parts: LibraryParts,
        data_dir: Path | None = None,
        vectors: SemanticIndex | None = None,
    ) -> None:
        parts = index_cache.packed(parts)
        self.transcripts = tuple(parts.transcripts)
        self.data_dir = data_dir
        self.tokenizer = parts.tokenizer
        # Built one at a time when asked for: a library loaded from its cache shares the
        # table's pages with every other process serving it (`bot.packed`).
        self.passages: RecordTable[Passage] = parts.passages
        self._transcripts_by_id = {t.id: t for t in self.transcripts}
        self._transcript_numbers = {t.id: n for n, t in enumerate(self.transcripts)}
        self.fields = parts.fields
        self.lexicons = parts.lexicons
        self.synonyms = parts.synonyms or {}
        self._owner = np.repeat(np.arange(len(self.transcripts), dtype=np.int32),
                                [len(t.passages) for t in self.transcripts])
        self._guest = ~self.passages.field_is("role", HOST)  # the same for every question
        self._topics: list[TopicTranscript] | None = None
        self._quote_haystacks: list[str] | None = None  # each passage's matching form
        # Per turn of several paragraphs: its first passage, the one after its last, and
        # the matching form of its paragraphs joined (`_find_across_paragraphs`).
        self._turn_haystacks: list[tuple[int, int, str]] | None = None
        self.speaker_tokens = speaker_tokens(self.transcripts, self.tokenizer)
        self.query = QueryAnalyzer(
            self.tokenizer, self.fields, self.lexicons, self.synonyms, self.speaker_tokens,
            parts.aliases, parts.names, guest_names(self.transcripts),
        )
        self.vectors = vectors  # the semantic tier; None: lexical search only
        # Per passage, a number for its turn of its transcript (`rank.with_turn_context`);
        # only the semantic tier uses it.
        self._turn_group: np.ndarray | None = None
        if vectors is not None:
            turn = self.passages.numbers_of("turn")
            key = self._owner.astype(np.int64) * (int(turn.max(initial=0)) + 1) + turn
            self._turn_group = np.unique(key, return_inverse=True)[1].reshape(-1)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        data_dir: Path | str | Sequence[Path] | None = None,
        *,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        progress: Progress | None = None,
    ) -> Library:
        """Load one data dir, several (served together), or by default the bundled
        interview plus the user's data dir (`bot.formats.datadir.default_data_dirs`).
        ``progress`` hears how far a first build has got (nothing when the cache is used)."""
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
        location = index_cache.cache_location(folders[0] if len(folders) == 1 else folders,
                                              cache_dir)
        key = index_cache.fingerprint(files)
        metas = [load_meta(f) for f in files]
        parts = index_cache.load(location, key, metas) if use_cache else None
        if parts is None:
            # A first build on a new machine reads jieba's dictionary and CC-CEDICT into
            # the user's cache beside the parsing below (forked, where that is safe).
            chinese = any(m.language == "zh" for m in metas)
            jieba_ready = prefetch_dictionary() if chinese else None
            cedict_ready = index_cache.prefetch_cedict(tokenize_english) if chinese else None
            try:
                transcripts = [load_transcript(f, m) for f, m in zip(files, metas, strict=True)]
                if jieba_ready is not None:
                    jieba_ready()
                try:
                    parts = build_parts(transcripts, metas, progress, cedict_ready)
                except ValueError as exc:
                    raise LibraryError(str(exc)) from None
            finally:
                for ready in (jieba_ready, cedict_ready):
                    if ready is not None:
                        ready()  # never leave a child behind, whatever happened
            parts = index_cache.packed(parts)
            if use_cache:
                index_cache.save(parts, location, key)
        passages = sum(len(t.passages) for t in parts.transcripts)
        vectors = index_cache.load_vectors(location, key, passages) if use_cache else None
        if vectors is None:
            vectors = _embed(parts.transcripts)
            if vectors is not None and use_cache:
                index_cache.save_vectors(vectors, location, key)
        library = cls(parts, folders[-1], vectors)
        index_cache.release_freed_memory()
        return library

    @classmethod
    def from_transcripts(
        cls, transcripts: Sequence[Transcript], metas: Sequence[TranscriptMeta],
        data_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> Library:
        """A library built from parsed transcripts, without any cache."""
        parts = build_parts(transcripts, metas, progress)
        return cls(parts, data_dir, _embed(parts.transcripts))

    # ------------------------------------------------------------------ queries
    def tokens(self, text: str, language: str) -> list[str]:
        return tokenize_english(text) if language == "en" else self.tokenizer.tokens(text)

    def words(self, text: str, language: str) -> list[tuple[str, list[str]]]:
        return self.query.words(text, language)

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
            raise QueryError(N_("speaker must be one of {speakers}"), speakers=", ".join(SPEAKERS))
        if interview is not None and interview not in self._transcripts_by_id:
            raise QueryError(
                N_("There is no interview called “{interview}”."), interview=interview
            )
        top = max(1, min(int(top), 25))
        offset = max(0, int(offset))
        verdict, shown = self._search(query, top + offset, speaker, interview)
        shown = shown[offset : offset + top]
        answered = verdict == ANSWER
        return Answer(
            query=query,
            hits=tuple(shown) if answered else (),
            closest=() if answered else tuple(shown),
            suggestions=() if shown else tuple(self.suggest_topics(interview)),
        )

    def _allowed(self, speaker: str, interview: str | None) -> np.ndarray:
        allowed = self._guest.copy() if speaker == "guest" else np.ones(len(self.passages), bool)
        if interview is not None:
            allowed &= self._owner == self._transcript_numbers[interview]
        return allowed

    def _lexical(self, question: str, asked_in: str, allowed: np.ndarray) -> _Lexical:
        """BM25 × coverage per passage (0 where unranked), in the question's own language
        first; another language's index only when the first matches nothing (an English
        question of a Chinese interview)."""
        found = _Lexical(np.zeros(len(self.passages)), np.zeros(len(self.passages)), {}, {})
        for language in sorted(self.fields, key=lambda lang: (lang != asked_in, lang)):
            index = self.fields[language]
            units = self.query.units(question, language)
            if not any(u.tokens for u in units):
                continue
            rows = index.passage_rows
            ranked = rank(index, units, allowed=allowed[rows], limit=POOL)
            if not ranked:
                continue
            for item in ranked:
                passage = int(rows[item.row])
                found.scores[passage] = item.score
                found.coverage[passage] = item.coverage
                found.matched[passage] = item.matched
            found.idf.update({t: u.idf for u in units for t in u.tokens})
            break
        return found

    def _search(
        self, query: str, limit: int, speaker: str, interview: str | None
    ) -> tuple[str, list[Hit]]:
        """The verdict (answer, closest, not covered) and the passages to show."""
        allowed = self._allowed(speaker, interview)
        if not allowed.any():
            return NOT_COVERED, []
        question = self.query.rewrite(query)
        asked_in = script_of(query)
        lexical = self._lexical(question, asked_in, allowed)
        similarity = evidence = asked = None
        if self.vectors is not None:
            # Normalised: the same in either script. Ranking reads the question in the
            # answer's persons (`semantic_text`: 马斯克 → 他, the guest → 我: which paragraph
            # says what is asked); whether the interview answers at all is judged on the
            # question as asked (马斯克 eating is not 他 eating). That second embedding costs
            # as much as the first, and the decision needs it only when coverage does not
            # answer on its own: embedded with the first when no passage covers enough,
            # later only if the best passages do not.
            about = self.query.semantic_text(question)
            texts = [about]
            if about != question and not covered(float(lexical.coverage.max())):
                texts.append(question)
            if asked_in not in self.fields and self.query.names_someone(question):
                # Surely across languages: should `decide` refuse it, it is read again with
                # its names as pronouns (`_unnamed_above_background`): embedded beside the
                # others now (cached), not after them.
                unnamed = self.query.unnamed_text(question)
                if unnamed not in texts and unnamed != question:
                    texts.append(unnamed)
            vectors = semantic.embed_queries(texts)
            if vectors is not None:
                similarity, evidence = self.vectors.similarity(vectors[0])
                asked = vectors[0]
                if about != question:
                    asked = vectors[1] if len(texts) > 1 and texts[1] == question else None
                    evidence = self.vectors.similarity(asked)[1] if asked is not None else None
                similarity = with_turn_context(similarity, self._turn_group)
        fused = fuse(lexical.scores, similarity, allowed)
        # Twice the quotes asked for: a short paragraph takes the one after it along.
        order = best_first(fused, max(2 * limit, DECIDING_PASSAGES))
        order = shown(order[np.isfinite(fused[order])], lexical.scores, similarity)
        if order.size == 0:
            return NOT_COVERED, []
        best = order[:DECIDING_PASSAGES]
        coverage = float(lexical.coverage[best].max())
        if similarity is not None and evidence is None and not covered(coverage):
            vectors = semantic.embed_queries([question])
            asked = vectors[0] if vectors is not None else None
            evidence = self.vectors.similarity(asked)[1] if asked is not None else None
        closeness = float(evidence[best].max()) if evidence is not None else None
        answered_in = self.passages[int(best[0])].language
        above_background = None
        if closeness is not None and asked is not None:
            above_background = self._above_background(
                answered_in, question, closeness, asked, allowed)
        verdict = decide(coverage, closeness, asked_in != answered_in, above_background)
        if (verdict == NOT_COVERED and closeness is not None and asked_in != answered_in
                and self.query.names_someone(question)):
            verdict = named_across_languages(
                self._unnamed_above_background(question, answered_in, best, allowed))
        log.debug("verdict %s: coverage %.2f, similarity %s", verdict, coverage, closeness)
        if verdict == NOT_COVERED:
            return verdict, []
        units = quote_units(
            (int(p) for p in order), limit,
            lambda p: self._continuation(p, allowed), lambda p: self._lead_in(p, allowed))
        return verdict, [  # a quote of two paragraphs scores as the better of them
            self._hit(p, float(fused[[p] if following is None else [p, following]].max()),
                      following, lexical.matched, lexical.idf)
            for p, following in units
        ]

    def _lead_in(self, index: int, allowed: np.ndarray) -> int | None:
        """The short paragraph shown before passage ``index``: the one it continues."""
        before = index - 1
        if before < 0 or not allowed[before]:
            return None
        return before if self._continuation(before, allowed) == index else None

    def _continuation(self, index: int, allowed: np.ndarray) -> int | None:
        """The paragraph shown after passage ``index`` (`bot.search.leadins`): the next one
        of the same turn, when ``index`` is short and the next may be shown."""
        following = index + 1
        if following >= len(self.passages) or not allowed[following]:
            return None
        turn = self.passages.numbers_of("turn")  # a column: no passage is built to compare
        if (self._owner[following], turn[following]) != (self._owner[index], turn[index]):
            return None
        passage = self.passages[index]
        return following if is_lead_in(passage.text, passage.language) else None

    def _unnamed_above_background(
        self, question: str, answered_in: str, best: np.ndarray, allowed: np.ndarray
    ) -> float | None:
        """`_above_background` of the question with the people it names read as pronouns
        (`QueryAnalyzer.unnamed_text`), to its best passages; None when that reads the same
        or cannot be embedded. One more embedding, only for a question `decide` refused."""
        unnamed = self.query.unnamed_text(question)
        vectors = semantic.embed_queries([unnamed]) if unnamed != question else None
        if vectors is None or self.vectors is None:
            return None
        closeness = float(self.vectors.similarity(vectors[0])[1][best].max())
        return self._above_background(answered_in, unnamed, closeness, vectors[0], allowed)

    def _above_background(
        self,
        answered_in: str,
        question: str,
        closeness: float,
        asked: np.ndarray,
        allowed: np.ndarray,
    ) -> float | None:
        """How much closer the question (as asked) is to its best passages, or to a question
        the host asked, than to the everyday background in the passages' language (asked in
        another language, both cosines are lowered alike); None for a question naming the
        interview's people (it is about the interview, whatever else it asks) or without a
        background."""
        if self.vectors is None or self.query.names_someone(question):
            return None
        background = self.vectors.background_similarity(asked, answered_in == "en")
        if background is None:
            return None
        # As close to a question the host asked is as much about the interview's topics
        # ("未来十年会咋样" and "你对未来 10 年有什么看法?"), though not evidence of an answer.
        host = self.vectors.host_question_similarity(asked, allowed)
        return max(closeness, host if host is not None else closeness) - background

    def _hit(
        self,
        index: int,
        score: float,
        following: int | None,
        matched_by_passage: dict[int, tuple[str, ...]],
        idf: dict[str, float],
    ) -> Hit:
        passage = self.passages[index]
        continuation = (self.passages[following],) if following is not None else ()
        matched = matched_by_passage.get(index, ())
        if following is not None:
            matched += tuple(t for t in matched_by_passage.get(following, ()) if t not in matched)
        hit = Hit(passage=passage, score=score, snippet="", matched_terms=matched,
                  interview=self._transcripts_by_id[passage.transcript_id].title,
                  continuation=continuation)
        snippet, spans = best_window(hit.text, {t: idf.get(t, 1.0) for t in matched})
        return replace(hit, snippet=snippet, highlights=tuple(spans))

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
        position = self.passages.position(passage_id)
        return None if position < 0 else self.passages[position]

    def transcript(self, transcript_id: str) -> Transcript | None:
        return self._transcripts_by_id.get(transcript_id)

    def resolve_interview(self, wanted: str) -> Transcript | None:
        """The transcript meant by an ``interview`` option: its id (what autocomplete sends),
        else its title typed out, else a unique piece of a title or id (people may not pick a
        choice)."""
        transcripts = self.transcripts
        wanted = wanted.strip()
        if not wanted or len(wanted) > MAX_INTERVIEW_INPUT:
            return None
        for transcript in transcripts:
            if transcript.id == wanted:
                return transcript
        folded = wanted.removesuffix(ELLIPSIS).casefold()
        for transcript in transcripts:
            if transcript.title.casefold() == folded or transcript.id.casefold() == folded:
                return transcript
        if not folded:
            return None
        found = [
            t for t in transcripts if folded in t.title.casefold() or folded in t.id.casefold()
        ]
        return found[0] if len(found) == 1 else None

    def find_section(self, wanted: str) -> tuple[TopicTranscript, TopicSection] | None:
        """The section named ``wanted`` (see `bot.topics.find_section`)."""
        return find_section(self.topics(), wanted)

    # ------------------------------------------------------------------ quotes
    def _find_across_paragraphs(self, key: str) -> QuoteMatch | None:
        """``key`` spanning paragraphs of one turn, as a hit shows a short paragraph with the
        one after it (`bot.search.leadins`); the match names the paragraph it starts in.

        Only each turn's matching form is kept; the map back to the speaker's characters is
        made for the one turn that matches."""
        if self._turn_haystacks is None:
            turn = self.passages.numbers_of("turn")
            starts = np.flatnonzero(np.diff(turn, prepend=-1) | np.diff(self._owner, prepend=-1))
            stops = np.append(starts[1:], len(turn))
            self._turn_haystacks = [
                # The same form as the key's (`matching_form_with_map`, not `matching_form`,
                # which differs where a conversion artefact spans characters: 领網域).
                (int(first), int(stop), matching_form_with_map("\n".join(
                    self.passages[i].text for i in range(first, stop)))[0])
                for first, stop in zip(starts.tolist(), stops.tolist(), strict=True)
                if stop - first > 1
            ]
        for first, stop, haystack in self._turn_haystacks:
            if key not in haystack:
                continue
            texts = [self.passages[i].text for i in range(first, stop)]
            joined = "\n".join(texts)
            folded, mapping = matching_form_with_map(joined)
            at = folded.find(key)
            start, end = mapping[at], mapping[at + len(key) - 1] + 1
            ends = np.cumsum([len(text) + 1 for text in texts])  # each paragraph's end + "\n"
            index = first + int(np.searchsorted(ends, start, side="right"))
            return QuoteMatch(True, self.passages[index], key, joined[start:end].strip(), None)
        return None

    def find_quote(self, text: str) -> QuoteMatch:
        """Find ``text`` in the interview, ignoring punctuation, spacing and script."""
        key, _ = matching_form_with_map(text)
        if self._quote_haystacks is None:
            # Only the matching forms are kept: the map back to the speaker's characters is
            # made for the one passage that matches (at 100,000 passages the maps of all of
            # them took tens of MB per process).
            self._quote_haystacks = [matching_form_with_map(p.text)[0] for p in self.passages]
        if key:
            for index, haystack in enumerate(self._quote_haystacks):
                if key not in haystack:
                    continue
                passage = self.passages[index]
                folded, mapping = matching_form_with_map(passage.text)
                at = folded.find(key)
                start, end = mapping[at], mapping[at + len(key) - 1] + 1
                return QuoteMatch(True, passage, key, passage.text[start:end].strip(), None)
            found = self._find_across_paragraphs(key)
            if found is not None:
                return found
        suggestion = None
        try:
            answer = self.ask(text[:MAX_QUERY_CHARS], top=1, speaker="any")
            suggestion = answer.hits[0].passage if answer.hits else None
        except QueryError:
            pass
        return QuoteMatch(False, None, key, "", suggestion)
