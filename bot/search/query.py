"""From a question to query units: what the question asks for, in one language's index words.

A same-language question becomes its words (each with the index tokens that match it); an
English question of a Chinese index becomes translations; a word the interview never uses is
looked for through its synonyms. Speaker names are dropped: every passage of an interview is
by its speakers, so their names say nothing about which passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.model import MAX_INPUT_CHARS, N_, QueryError, Transcript
from bot.search.fields import FieldIndex, FieldVocabulary
from bot.text.aliases import AliasRewriter
from bot.text.chinese import ChineseTokenizer
from bot.text.crosslingual import LexiconTable, translate
from bot.text.english import english_words, tokenize_english
from bot.text.normalize import normalize, script_of
from bot.text.usertext import visible_text

MAX_QUERY_CHARS = MAX_INPUT_CHARS
SINGLE_CHARACTER_SHARE = 0.5
NAME_SHARE = 0.5  # a name says who the question is about, not what it asks
SYNONYM_CREDIT = 0.5
TRANSLATION_CREDIT = 0.75
SYNONYM_WEIGHT = 0.6


@dataclass(frozen=True)
class QueryUnit:
    """One thing the question asks for: a word, with the index tokens that would match it.

    A Chinese word is its own single token; an English word asked of a Chinese index becomes
    its translations. Coverage counts units, so a word with six translations counts once.
    """

    surface: str
    tokens: tuple[str, ...]
    weights: tuple[float, ...]
    idf: float
    credit: float = 1.0  # share of ``idf`` counted as covered when matched (synonyms: less)
    subject: bool = False  # names a person the interview talks about (who, not what)
    either: bool = False  # alternative words for one ask (a word and its alias): best counts


def clean_query(query: str) -> str:
    """Refuse what cannot be a question; drop invisible, bidi and control characters."""
    if query is None or not query.strip():
        raise QueryError(N_("Please type a question, e.g. 规模重要吗?"))
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(
            N_("That question is {length} characters long; please keep it under {limit}."),
            length=len(query),
            limit=MAX_QUERY_CHARS,
        )
    cleaned = visible_text(query)
    if not cleaned:
        raise QueryError(N_("That question has only invisible characters; please type words."))
    return cleaned


def units_for(
    words: Sequence[tuple[str, Sequence[str]]], index: FieldIndex
) -> list[QueryUnit]:
    """Units of a same-language question: each distinct word, weighted by its rarest token.

    A single Chinese character (人, 大) says little on its own, so it counts half, unless the
    index never uses it: then the question asks about something the interview does not
    mention (吃, 钱), and that must weigh fully against answering.
    """
    units: list[QueryUnit] = []
    seen: set[str] = set()
    for word, tokens in words:
        if word in seen:
            continue
        seen.add(word)
        idf = max(_idf(index, token) for token in tokens)
        if len(word) == 1 and not word.isascii() and _known(index, tokens):
            idf *= SINGLE_CHARACTER_SHARE
        units.append(QueryUnit(word, tuple(tokens), (1.0,) * len(tokens), idf))
    return units


def _known(index: FieldIndex, tokens: Sequence[str]) -> bool:
    return any(index.text.doc_freq(t) or index.context.doc_freq(t) for t in tokens)


def _idf(index: FieldIndex, token: str) -> float:
    """IDF from the passage text, else the context field, else as rare as a word can be."""
    for field in (index.text, index.context):
        value = field.idf(token)
        if value is not None:
            return max(value, 0.0)
    return index.text.max_idf


def speaker_tokens(transcripts: Iterable[Transcript], tokenizer: ChineseTokenizer) -> set[str]:
    """Tokens that only name a speaker ("Karpathy", "卡帕西")."""
    labels = name_labels(name for t in transcripts for name in (t.guest, t.host))
    tokens: set[str] = set()
    for label in labels:
        tokens.update(tokenizer.tokens(label))
        tokens.update(tokenize_english(label))
    return tokens


def guest_names(transcripts: Iterable[Transcript]) -> set[str]:
    """How each guest is named ("andrej", "karpathy", "卡帕西"): the person whose paragraphs
    the answers are."""
    return name_labels(t.guest for t in transcripts)


def name_labels(names: Iterable[str]) -> set[str]:
    """Each name as written (normalised) and each of its words."""
    labels: set[str] = set()
    for name in map(normalize, names):
        labels.add(name)
        labels.update(re.findall(r"\w+", name))
    return labels


def _word_pattern(words: Iterable[str], latin: bool = False) -> re.Pattern[str] | None:
    words = sorted(words, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(map(re.escape, words))
    return re.compile(rf"\b(?:{alternatives})\b" if latin else alternatives)


_THIRD_PERSON = re.compile("[他她]")


class QueryAnalyzer:
    """Turns a question into `QueryUnit`s for one language's index of a library."""

    def __init__(
        self,
        tokenizer: ChineseTokenizer,
        fields: Mapping[str, FieldIndex],
        lexicons: Mapping[str, LexiconTable],
        synonyms: LexiconTable,
        speaker_tokens: set[str],
        aliases: Mapping[str, str] | None = None,
        names: Iterable[str] = (),
        guests: Iterable[str] = (),
    ) -> None:
        self.tokenizer = tokenizer
        self.fields = fields
        self.lexicons = lexicons
        self.synonyms = synonyms
        self.speaker_tokens = speaker_tokens
        # A view, not a set: at 100,000 passages a set of the terms cost each process ~30 MB.
        self.known = FieldVocabulary(
            *(index for f in fields.values() for index in (f.text, f.context))
        )
        self.rewriter = AliasRewriter(aliases or {}, self.known, self.known.ascii_terms())
        self.names = {normalize(n) for n in names}
        # People the interview talks about (not its speakers), and what people call them.
        subjects = {n for n in self.names - speaker_tokens if len(n) > 1}
        called = {a for a, t in self.rewriter.aliases.items() if t in subjects and a.isascii()}
        self._subjects = _word_pattern(subjects)
        self._called = _word_pattern(called, latin=True)
        self._guest = _word_pattern({g for g in guests if len(g) > 1 and not g.isascii()})
        self._guest_latin = _word_pattern(
            {g for g in guests if len(g) > 1 and g.isascii()}, latin=True)

    def names_someone(self, question: str) -> bool:
        """Whether the (rewritten) question names a person of the interview — the guest, or
        someone the interview talks about, by name or by what people call them."""
        patterns = (self._subjects, self._called, self._guest, self._guest_latin)
        return any(p is not None and p.search(question) for p in patterns)

    def semantic_text(self, question: str) -> str:
        """The rewritten question as the semantic tier reads it, in the answer's own
        persons. A person it is about becomes 他/he: a name says who the question is about,
        not what it asks, and the answer's paragraphs mostly say 他 (the turn is about him);
        left in, the name draws the question to whichever paragraph repeats it. In Chinese,
        the guest — named, or 他 when the question names nobody else — becomes 我, because
        the guest's paragraphs speak in the first person ("他怎么看…" is answered by
        "我认为…"). English questions keep "he": across languages the rewrite did not help
        and cost confident answers. Lexical search still uses the question as typed."""
        about_someone = False
        if self._subjects is not None:
            question, found = self._subjects.subn("他", question)
            about_someone = found > 0
        if self._called is not None:
            question, found = self._called.subn("he", question)
            about_someone = about_someone or found > 0
        if self._guest is not None:
            question = self._guest.sub("我", question)
        if not about_someone:
            question = _THIRD_PERSON.sub("我", question)
        return question

    def unnamed_text(self, question: str) -> str:
        """`semantic_text` with the guest's Latin names read as "he" too: the question with
        every person it names read as a pronoun (`bot.search.rank.named_across_languages`)."""
        unnamed = self.semantic_text(question)
        if self._guest_latin is not None:
            unnamed = self._guest_latin.sub("he", unnamed)
        return unnamed

    def rewrite(self, query: str) -> str:
        """The question normalised and in the interview's words (aliases, Latin typos)."""
        return self.rewriter.rewrite(normalize(query))

    def words(self, text: str, language: str) -> list[tuple[str, list[str]]]:
        if language == "en":
            return [(t, [t]) for t in tokenize_english(text)]
        return self.tokenizer.words(text)

    def units(self, query: str, language: str) -> list[QueryUnit]:
        """Query units for one language's index, translating an English question if needed."""
        index = self.fields[language]
        asked_in = script_of(query)
        if asked_in == language or language not in self.lexicons:
            units = [self._name_share(u)
                     for u in units_for(self.words(query, language), index)
                     if not set(u.tokens) <= self.speaker_tokens]
            units = self._alternatives(units)
            return [self._mixed(self._with_synonyms(u, index), index, language) for u in units]
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

    def _alternatives(self, units: list[QueryUnit]) -> list[QueryUnit]:
        """A typed word and the alias put beside it (开会 → 开会 会议) are one ask."""
        merged: list[QueryUnit] = []
        groups: dict[frozenset[str], int] = {}
        for unit in units:
            group = self.rewriter.alternatives.get(unit.surface)
            if group is None or group not in groups:
                if group is not None:
                    groups[group] = len(merged)
                merged.append(unit)
                continue
            first = merged[groups[group]]
            merged[groups[group]] = QueryUnit(
                first.surface, first.tokens + unit.tokens, first.weights + unit.weights,
                max(first.idf, unit.idf), max(first.credit, unit.credit),
                first.subject, either=True,
            )
        return merged

    def _name_share(self, unit: QueryUnit) -> QueryUnit:
        """A person's name counts less towards coverage: knowing the interview mentions 马斯克
        says nothing about whether it answers what he likes to eat."""
        if unit.surface not in self.names:
            return unit
        return QueryUnit(unit.surface, unit.tokens,
                         tuple(w * NAME_SHARE for w in unit.weights), unit.idf * NAME_SHARE,
                         unit.credit, subject=True)

    def _mixed(self, unit: QueryUnit, index: FieldIndex, language: str) -> QueryUnit:
        """An English word inside a Chinese question that the index does not use as written
        is looked for through its translations: one question over both vocabularies."""
        if (not unit.surface.isascii() or language not in self.lexicons
                or any(index.text.doc_freq(t) or index.context.doc_freq(t) for t in unit.tokens)):
            return unit
        stems = tokenize_english(unit.surface.replace("-", " "))
        tokens, weights = translate(stems, self.lexicons[language], index.vocabulary)
        if not tokens:
            return unit
        return QueryUnit(unit.surface, tuple(tokens), tuple(weights), unit.idf,
                         TRANSLATION_CREDIT)

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
