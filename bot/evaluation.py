"""Measure answer quality on a JSONL question set (the format of ``dev_questions.jsonl``).

Each line: ``{"id", "kind", "q", "gold": [substrings]}``. An in-scope question is a hit at
k when one of its top-k passages contains any gold substring (compared after the same
normalisation as search, so script differences do not count as misses). Questions of kind
``oos`` are out of scope: the right outcome is no answer.
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


class EvalFileError(ValueError):
    """A question file that cannot be read; names the file and line."""


@dataclass
class KindScore:
    questions: int = 0
    hit1: int = 0
    hit3: int = 0
    answered: int = 0
    misses: list[str] = field(default_factory=list)

    def as_dict(self, kind: str) -> dict:
        if kind == OUT_OF_SCOPE:
            return {
                "questions": self.questions,
                "no_answer_rate": round(1 - self.answered / self.questions, 4)
                if self.questions else None,
                "misses": self.misses,
            }
        return {
            "questions": self.questions,
            "hit@1": round(self.hit1 / self.questions, 4) if self.questions else None,
            "hit@3": round(self.hit3 / self.questions, 4) if self.questions else None,
            "answered_rate": round(self.answered / self.questions, 4) if self.questions else None,
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


def evaluate(library: Library, questions: list[dict]) -> dict:
    """Hit rates per kind, plus the pooled in-scope figures and the oos no-answer rate."""
    scores: dict[str, KindScore] = defaultdict(KindScore)
    for item in questions:
        kind = item.get("kind", "zh")
        score = scores[kind]
        score.questions += 1
        try:
            answer = library.ask(item["q"], top=3)
        except QueryError:
            answer = None
        hits = list(answer.hits) if answer else []
        if hits:
            score.answered += 1
        if kind == OUT_OF_SCOPE:
            if hits:
                score.misses.append(item.get("id", item["q"]))
            continue
        gold = [normalize(g) for g in item.get("gold", [])]
        found = [any(g in normalize(h.passage.text) for g in gold) for h in hits]
        score.hit1 += bool(found[:1] and found[0])
        score.hit3 += any(found[:3])
        if not any(found[:1]):
            score.misses.append(item.get("id", item["q"]))
    result = {kind: scores[kind].as_dict(kind) for kind in sorted(scores)}
    in_scope = [s for k, s in scores.items() if k != OUT_OF_SCOPE]
    total = sum(s.questions for s in in_scope)
    if total:
        result["all_in_scope"] = {
            "questions": total,
            "hit@1": round(sum(s.hit1 for s in in_scope) / total, 4),
            "hit@3": round(sum(s.hit3 for s in in_scope) / total, 4),
            "answered_rate": round(sum(s.answered for s in in_scope) / total, 4),
        }
    return result
