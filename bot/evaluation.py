"""Measure answer quality on a JSONL question set (the format of ``dev_questions_v2.jsonl``).

Each line: ``{"id", "kind", "q", "gold": [substrings]}``. Scoring is what the user sees:
the answer's quotes when answered, else the closest ones. An in-scope question is a hit at
k when one of its first k shown quotes (a passage, with the paragraph a short one is shown
with: `bot.search.leadins`) contains any gold substring (compared after the same
normalisation as search, so script differences do not count as misses).

Out-of-scope kinds: ``oos`` (clearly foreign: the right reply is no answer *and* no
passage) and ``adjacent_oos`` (the interview's people or topics, but an attribute it never
discusses: the right reply is no confident answer; a closest passage is welcome).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.library import Library
from bot.model import QueryError
from bot.text.normalize import normalize

OUT_OF_SCOPE = "oos"
ADJACENT = "adjacent_oos"
NOT_IN_SCOPE = (OUT_OF_SCOPE, ADJACENT)
HALVES = ("tune", "report")


class EvalFileError(ValueError):
    """A question file that cannot be read; names the file and line."""


@dataclass
class KindScore:
    questions: int = 0
    hit1: int = 0
    hit3: int = 0
    answered: int = 0  # confident answers
    shown: int = 0  # any passage shown (answer or closest)
    misses: list[str] = field(default_factory=list)

    def _rate(self, count: int) -> float | None:
        return round(count / self.questions, 4) if self.questions else None

    def as_dict(self, kind: str) -> dict:
        if kind in NOT_IN_SCOPE:
            return {
                "questions": self.questions,
                "not_answered_rate": self._rate(self.questions - self.answered),
                "no_passage_rate": self._rate(self.questions - self.shown),
                "misses": self.misses,
            }
        return {
            "questions": self.questions,
            "hit@1": self._rate(self.hit1),
            "hit@3": self._rate(self.hit3),
            "answered_rate": self._rate(self.answered),
            "misses": self.misses,
        }


def read_questions(path: Path) -> list[dict]:
    questions = []
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item.get("q"), str) or not isinstance(item.get("gold", []), list):
                raise ValueError("needs a string 'q' and a list 'gold'")
        except (ValueError, AttributeError) as exc:
            raise EvalFileError(f"{path}:{number}: not a question line ({exc})") from None
        questions.append(item)
    if not questions:
        raise EvalFileError(f"{path}: no questions")
    return questions


def split(questions: list[dict], half: str) -> list[dict]:
    """One stratified half: within each kind, sorted by id, positions 0, 2, 4, … are
    ``tune`` and 1, 3, 5, … are ``report`` (tune on one, report the other)."""
    if half not in HALVES:
        raise ValueError(f"half must be one of {', '.join(HALVES)}")
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for item in questions:
        by_kind[item.get("kind", "zh")].append(item)
    keep = HALVES.index(half)
    return [
        item
        for kind in sorted(by_kind)
        for i, item in enumerate(sorted(by_kind[kind], key=lambda q: str(q.get("id", ""))))
        if i % 2 == keep
    ]


def evaluate(library: Library, questions: list[dict]) -> dict:
    """Per kind: hit rates and the confident-answer rate, or for out-of-scope kinds the
    not-answered rate (a plain ``oos`` question also misses when any passage is shown)."""
    scores: dict[str, KindScore] = defaultdict(KindScore)
    for item in questions:
        kind = item.get("kind", "zh")
        score = scores[kind]
        score.questions += 1
        try:
            answer = library.ask(item["q"], top=3)
        except QueryError:
            answer = None
        shown = list(answer.shown) if answer else []
        score.answered += bool(answer and answer.answered)
        score.shown += bool(shown)
        label = item.get("id", item["q"])
        if kind in NOT_IN_SCOPE:
            wrong = shown if kind == OUT_OF_SCOPE else answer and answer.answered
            if wrong:
                score.misses.append(label)
            continue
        gold = [normalize(g) for g in item.get("gold", [])]
        found = [any(g in normalize(h.text) for g in gold) for h in shown]
        score.hit1 += bool(found[:1] and found[0])
        score.hit3 += any(found[:3])
        if not any(found[:1]):
            score.misses.append(label)
    result = {kind: scores[kind].as_dict(kind) for kind in sorted(scores)}
    in_scope = [s for k, s in scores.items() if k not in NOT_IN_SCOPE]
    total = sum(s.questions for s in in_scope)
    if total:
        result["all_in_scope"] = {
            "questions": total,
            "hit@1": round(sum(s.hit1 for s in in_scope) / total, 4),
            "hit@3": round(sum(s.hit3 for s in in_scope) / total, 4),
            "answered_rate": round(sum(s.answered for s in in_scope) / total, 4),
        }
    return result
