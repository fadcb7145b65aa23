"""Give each paragraph of a Chinese article transcript its own start time in the video.

The article has no times; its metadata has ``turn_starts`` (one per speaker turn). This dev
tool aligns the paragraphs *inside* each turn with a timed English transcript of the same
video (Whisper, SRT or VTT) and writes the result as ``passage_starts`` in the metadata:
``{"<line of the paragraph in the .txt>": seconds}``. The English text itself never leaves
this process.

How:

* **Anchors.** Each Chinese paragraph is cut with jieba; every word is turned into English
  stems it could be heard as: English words and numbers written inside the Chinese
  (``GPU``, ``99%``, ``1 万`` → 10000), the metadata glossary (马斯克 → elon, musk) and
  CC-CEDICT senses (会议 → meeting), through ``bot.crosslingual.build_lexicon``.
* **Monotone alignment.** Inside one turn (its span runs from its start to the next turn's),
  a dynamic programme cuts the caption cues into one contiguous block per paragraph, in
  order, maximising the IDF-weighted anchors each paragraph finds in its own block, with a
  mild prior that a block's duration follows the paragraph's share of the turn's characters.
* **Only supported times.** A paragraph keeps its own time only when the anchors pin its start:
  sliding the start more than SUPPORT_WINDOW seconds either way must cost at least MARGIN of
  score, and at least MIN_ANCHORS distinct anchors of the paragraph must be heard in its first
  SUPPORT_WINDOW seconds. Otherwise it is left out of ``passage_starts`` and keeps its turn's
  start. No guessing: paragraphs the article adds (not said in the video) stay out.

Run (from the repo top)::

    python benchmarks/align_passages.py                 # print the derived times
    python benchmarks/align_passages.py --write         # store them in the metadata
    python benchmarks/align_passages.py --check tests/data/passage_times_checked.json

This imports only stable pieces of the bot (article parser, metadata loader, caption reader,
English stemmer, cross-lingual lexicon builder).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import statistics
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba

from bot.formats.article import parse_article, read_text
from bot.formats.captions import Cue, read_captions
from bot.formats.metadata import load_meta, meta_path_for
from bot.model import Transcript
from bot.text.crosslingual import build_lexicon
from bot.text.english import tokenize_english

log = logging.getLogger("align_passages")

REPO = Path(__file__).resolve().parents[1]
ARTICLE = REPO / "data" / "karpathy-sequoia-ai-ascent-2024.zh.txt"
# The shared, read-only English transcript: $QUOTEBOT_SHARED_DIR, else ../shared of the repo.
SHARED = Path(os.environ.get("QUOTEBOT_SHARED_DIR") or REPO.parent / "shared")
CAPTIONS = SHARED / "data" / "c3b-JASoPi0.en.whisper.txt"

# Alignment knobs (seconds unless said otherwise).
LENGTH_PRIOR = 1.0  # weight of |log(block duration / expected duration)| per paragraph
MARGIN = 5.0  # a start is "pinned" when moving it further than SUPPORT_WINDOW costs this
MIN_ANCHORS = 2  # distinct anchor stems a paragraph must echo near its start
SUPPORT_WINDOW = 12.0  # evidence must be this close to the chosen start
LAST_TURN_SLACK = 1.5  # the last turn may run this many times its expected duration

ENGLISH_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "hundred": 100, "thousand": 1000, "million": 1000000,
}
CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                  "七": 7, "八": 8, "九": 9, "十": 10}
CHINESE_NUMBER_WORD = re.compile("^第?([一二两三四五六七八九十])[个点位名任年倍次层]?$")
SCALED_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*([万千])")
THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")
LATIN = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True)
class Anchor:
    """English stems a run of a Chinese paragraph could be heard as, at char ``offset``."""

    offset: int
    stems: Mapping[str, float]  # stem -> lexicon weight (1 = exact / glossary)


@dataclass(frozen=True)
class Derived:
    """One paragraph's alignment: chosen start, and why it is (not) trusted."""

    line: int
    turn: int
    start: float
    supported: bool
    reason: str


# --- English side --------------------------------------------------------------------------


def english_stems(text: str) -> set[str]:
    """Stems of English text, with numbers as digits ("six" → 6, "10,000" → 10000)."""
    text = THOUSANDS_COMMA.sub("", text)
    out: set[str] = set()
    for token in tokenize_english(text):
        out.add(str(ENGLISH_NUMBERS.get(token, token)))
        if token.endswith("s") and len(token) > 3:
            out.add(token[:-1])  # "gpus" → "gpu": the stemmer keeps acronym plurals
    return out


def cue_idf(stems: Sequence[set[str]]) -> dict[str, float]:
    df = Counter(s for cue in stems for s in cue)
    total = len(stems)
    return {s: math.log(total / n) for s, n in df.items()}


# --- Chinese side --------------------------------------------------------------------------


def _number_value(text: str) -> str:
    value = float(text)
    return str(int(value)) if value.is_integer() else str(value)


def paragraph_anchors(
    text: str, zh_to_en: Mapping[str, Mapping[str, float]]
) -> list[Anchor]:
    """Anchors of one paragraph, in text order."""
    anchors: list[Anchor] = []
    for match in SCALED_NUMBER.finditer(text):
        scale = 10000 if match.group(2) == "万" else 1000
        value = _number_value(str(float(match.group(1)) * scale))
        anchors.append(Anchor(match.start(), {value: 1.0}))
    for word, start, _end in jieba.tokenize(text):
        word = word.strip()
        if not word:
            continue
        stems: dict[str, float] = {}
        if LATIN.search(word):
            for stem in english_stems(word.replace("%", "")):
                stems[stem] = 1.0
        else:
            number = CHINESE_NUMBER_WORD.match(word)
            if number:
                stems[str(CHINESE_DIGITS[number.group(1)])] = 1.0
            stems.update(zh_to_en.get(word, {}))
        if stems:
            anchors.append(Anchor(start, stems))
    anchors.sort(key=lambda a: a.offset)
    return anchors


def chinese_to_english(
    transcript: Transcript, glossary: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Chinese word → {English stem: weight}, from the glossary and CC-CEDICT."""
    vocabulary = {
        word.strip() for p in transcript.passages for word in jieba.lcut(p.text) if word.strip()
    }
    lexicon = build_lexicon(
        vocabulary,
        glossaries=[glossary],
        english_tokens=tokenize_english,
        chinese_tokens=lambda text: [w for w in jieba.lcut(text) if w.strip()],
    )
    table: dict[str, dict[str, float]] = {}
    for english, targets in lexicon.items():
        for chinese, weight in targets:
            slot = table.setdefault(chinese, {})
            slot[english] = max(weight, slot.get(english, 0.0))
    return table


# --- alignment -----------------------------------------------------------------------------


def match_scores(
    anchors: Sequence[Anchor], cue_stems: Sequence[set[str]], idf: Mapping[str, float]
) -> tuple[list[float], list[set[str]]]:
    """Per cue: how strongly it echoes the paragraph, and which anchor stems it echoes.

    Each stem counts once per cue, at the best weight any of the paragraph's anchors gives it.
    """
    scores: list[float] = []
    matched: list[set[str]] = []
    for stems in cue_stems:
        best: dict[str, float] = {}
        for anchor in anchors:
            for stem, weight in anchor.stems.items():
                if stem in stems:
                    best[stem] = max(best.get(stem, 0.0), weight * idf.get(stem, 0.0))
        scores.append(sum(best.values()))
        matched.append(set(best))
    return scores, matched


class _Blocks:
    """Scores of "paragraph k spans cues i..j-1" for one turn, from prefix sums."""

    def __init__(
        self, scores: Sequence[Sequence[float]], times: Sequence[float], end: float,
        expected: Sequence[float],
    ) -> None:
        self.bounds = [*times, end]
        self.expected = expected
        self.prefix = []
        for row in scores:
            prefix = [0.0]
            for value in row:
                prefix.append(prefix[-1] + value)
            self.prefix.append(prefix)

    def score(self, k: int, i: int, j: int) -> float:
        duration = max(self.bounds[j] - self.bounds[i], 0.5)
        prior = abs(math.log(duration / max(self.expected[k], 0.5)))
        return self.prefix[k][j] - self.prefix[k][i] - LENGTH_PRIOR * prior


def segment(
    scores: Sequence[Sequence[float]],
    times: Sequence[float],
    end: float,
    expected: Sequence[float],
) -> list[int]:
    """Monotone cut of cues 0..M-1 into one non-empty block per paragraph; block starts.

    Block k scores the sum of paragraph k's cue scores inside it minus LENGTH_PRIOR ×
    |log(duration / expected[k])|. Paragraph 0 always starts at cue 0 (the turn start).
    """
    n, m = len(scores), len(times)
    if m < n:
        return list(range(min(n, m))) + [m - 1] * (n - m)
    blocks = _Blocks(scores, times, end, expected)
    neg = -math.inf
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    back = [[0] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for k in range(n):
        for j in range(k + 1, m + 1):  # block k ends before cue j
            for i in range(k, j) if k > 0 else (0,):
                if best[k][i] == neg:
                    continue
                value = best[k][i] + blocks.score(k, i, j)
                if value > best[k + 1][j]:
                    best[k + 1][j] = value
                    back[k + 1][j] = i
    starts = [0] * n
    j = m
    for k in range(n, 0, -1):
        starts[k - 1] = back[k][j]
        j = starts[k - 1]
    return starts


def boundary_spread(
    scores: Sequence[Sequence[float]],
    times: Sequence[float],
    end: float,
    expected: Sequence[float],
    starts: Sequence[int],
    k: int,
) -> float:
    """How far paragraph k's start could move (seconds) for less than MARGIN of score.

    The other starts stay fixed; the start slides between its neighbours' and every
    position scoring within MARGIN of the chosen one widens the spread. A start the
    anchors pin down has a small spread; one the length prior alone placed has a large one.
    """
    blocks = _Blocks(scores, times, end, expected)
    low = starts[k - 1]
    high = starts[k + 1] if k + 1 < len(starts) else len(times)
    def total(i: int) -> float:
        return blocks.score(k - 1, low, i) + blocks.score(k, i, high)
    chosen = total(starts[k])
    return max(
        abs(times[i] - times[starts[k]])
        for i in range(low + 1, high)
        if total(i) >= chosen - MARGIN
    )


def turn_spans(transcript: Transcript, cues: Sequence[Cue]) -> list[tuple[float, float]]:
    """(start, end) seconds of every turn; the last ends by its expected speaking time."""
    starts = [t.start for t in transcript.turns]
    if any(s is None for s in starts):
        raise SystemExit("the metadata has no turn_starts: align the turns first")
    chars = [sum(len(transcript.passages[i].text) for i in t.passage_indices)
             for t in transcript.turns]
    rates = [(starts[i + 1] - starts[i]) / chars[i] for i in range(len(starts) - 1)]
    rate = statistics.median(rates)
    spans = [(starts[i], starts[i + 1]) for i in range(len(starts) - 1)]
    last_end = min(starts[-1] + chars[-1] * rate * LAST_TURN_SLACK, cues[-1].end)
    spans.append((starts[-1], last_end))
    return spans


def align(
    transcript: Transcript,
    cues: Sequence[Cue],
    glossary: Mapping[str, Sequence[str]],
) -> list[Derived]:
    zh_to_en = chinese_to_english(transcript, glossary)
    all_stems = [english_stems(c.text) for c in cues]
    idf = cue_idf(all_stems)
    derived: list[Derived] = []
    for turn, (start, end) in zip(transcript.turns, turn_spans(transcript, cues), strict=True):
        paragraphs = [transcript.passages[i] for i in turn.passage_indices]
        if len(paragraphs) < 2:
            continue
        inside = [i for i, c in enumerate(cues) if start - 1.0 <= c.start < end - 0.5]
        if not inside:
            continue
        times = [cues[i].start for i in inside]
        times[0] = max(times[0], start)
        stems = [all_stems[i] for i in inside]
        total_chars = sum(len(p.text) for p in paragraphs)
        rate = (end - start) / total_chars
        expected = [len(p.text) * rate for p in paragraphs]
        scored = [match_scores(paragraph_anchors(p.text, zh_to_en), stems, idf)
                  for p in paragraphs]
        scores = [s for s, _ in scored]
        matched = [m for _, m in scored]
        blocks = segment(scores, times, end, expected)
        block_ends = [*blocks[1:], len(times)]
        for k in range(1, len(paragraphs)):
            chosen = times[blocks[k]]
            spread = boundary_spread(scores, times, end, expected, blocks, k)
            window = [j for j in range(blocks[k], block_ends[k])
                      if times[j] < chosen + SUPPORT_WINDOW]
            heard = {stem for j in window for stem in matched[k][j]}
            supported = spread <= SUPPORT_WINDOW and len(heard) >= MIN_ANCHORS
            reason = (f"start pinned to ±{spread:.0f}s; {len(heard)} anchors in the first "
                      f"{SUPPORT_WINDOW:.0f}s")
            derived.append(Derived(paragraphs[k].line, turn.index, chosen, supported, reason))
    return derived


# --- command line --------------------------------------------------------------------------


def load_article(path: Path) -> tuple[Transcript, dict[str, tuple[str, ...]]]:
    """The article as the bot parses it (with turn starts) and its glossary; the metadata's
    terms are taught to jieba so names stay whole."""
    meta = load_meta(path)
    jieba.setLogLevel(logging.WARNING)
    for term in meta.terms:
        jieba.add_word(term)
    transcript = parse_article(
        read_text(path), str(path), transcript_id=meta.id, labels=meta.labels,
        turn_starts=meta.turn_starts,
    )
    return transcript, meta.glossary


def passage_starts(derived: Sequence[Derived]) -> dict[str, float]:
    return {str(d.line): round(d.start, 2) for d in derived if d.supported}


def write_meta(article: Path, starts: Mapping[str, float]) -> Path:
    """Store ``passage_starts`` in the metadata, keeping every other key as it is."""
    path = meta_path_for(article)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["passage_starts"] = dict(starts)
    path.write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def check(derived: Sequence[Derived], table: Path, turn_starts: Sequence[float]) -> int:
    """Compare with a hand-checked table; print per-row errors; return the number off."""
    rows = json.loads(table.read_text(encoding="utf-8"))["checked"]
    by_line = {d.line: d for d in derived}
    errors: list[float] = []
    bad = 0
    for row in rows:
        d = by_line.get(row["line"])
        got = d.start if d and d.supported else None
        want = row["seconds"]
        if want is None:
            ok = got is None
            text = "not said: " + ("kept turn start" if ok else f"got {got:.1f}")
        elif got is None:
            ok = False
            text = f"left at turn start {turn_starts[row['turn']]:.1f}, true {want:.1f}"
        else:
            errors.append(abs(got - want))
            ok = abs(got - want) <= 10.0
            text = f"{got:7.1f} vs {want:7.1f} ({got - want:+.1f})"
        bad += not ok
        print(f"line {row['line']:3d} turn {row['turn']:2d} {'ok ' if ok else 'BAD'} {text}")
    timed = len(errors)
    within = sum(e <= 10.0 for e in errors)
    print(f"{within}/{timed} timed rows within ±10 s; max error "
          f"{max(errors, default=0.0):.1f} s; {bad} rows off of {len(rows)}")
    return bad


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--article", type=Path, default=ARTICLE)
    parser.add_argument("--captions", type=Path, default=CAPTIONS)
    parser.add_argument("--write", action="store_true", help="store passage_starts in the meta")
    parser.add_argument("--check", type=Path, help="hand-checked table to compare with")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not args.captions.is_file():
        print(f"captions not found: {args.captions}", file=sys.stderr)
        return 2
    transcript, glossary = load_article(args.article)
    derived = align(transcript, read_captions(args.captions), glossary)
    for d in derived:
        mark = "own " if d.supported else "turn"
        print(f"line {d.line:3d} turn {d.turn:2d} {mark} {d.start:7.1f}  {d.reason}")
    starts = passage_starts(derived)
    print(f"{len(starts)} of {len(derived)} non-first paragraphs get their own time")
    if args.check:
        check(derived, args.check, [t.start or 0.0 for t in transcript.turns])
    if args.write:
        print(f"wrote {write_meta(args.article, starts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
