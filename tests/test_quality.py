"""Answer quality floors on the project's own paraphrase questions (tests/data).

The shared dev set is checked in tests/frontends/test_cli.py when it is present; this set ships with
the project, so CI always measures quality. Questions are paraphrases written by hand, never
sentences copied from the transcript.
"""

from __future__ import annotations

from bot.evaluation import evaluate, read_questions
from tests.paths import TEST_DATA

QUESTIONS = TEST_DATA / "paraphrase_questions.jsonl"


def test_paraphrase_questions_meet_the_quality_bar(library) -> None:
    result = evaluate(library, read_questions(QUESTIONS))
    assert result["zh"]["hit@3"] >= 0.9 and result["zh"]["hit@1"] >= 0.75, result["zh"]
    # Traditional script and Taiwan vocabulary: at least as good as simplified.
    for kind in ("zht", "vocab"):
        assert result[kind]["hit@3"] >= 0.9 and result[kind]["hit@1"] >= 0.66, result[kind]
    assert result["en"]["hit@3"] >= 0.66, result["en"]
    assert result["oos"]["not_answered_rate"] >= 0.9, result["oos"]
    assert result["all_in_scope"]["answered_rate"] >= 0.9, result["all_in_scope"]
