"""Per-paragraph start times (``passage_starts``) against times checked by hand.

``tests/data/passage_times_checked.json`` was made by reading each Chinese paragraph beside
the English Whisper transcript of the video and writing down the second the paragraph
begins (``null``: the article adds the paragraph, it is not said in the video). The times
in the bundled metadata were derived by ``benchmarks/align_passages.py``; every time it
gives must be within ``TOLERANCE`` of the hand-checked one, and a paragraph it leaves
without a time keeps its turn's start.
"""

from __future__ import annotations

import json

import pytest

from bot.formats.datadir import load_transcript
from bot.formats.metadata import load_meta
from tests.paths import SEED, TEST_DATA, WHISPER_NAME, shared_dir

ARTICLE = SEED
CHECKED = TEST_DATA / "passage_times_checked.json"
TOLERANCE = 10.0
# The alignment may leave a few paragraphs at their turn start, but not most of them.
MIN_OWN_TIMES = 45


@pytest.fixture(scope="module")
def transcript():
    return load_transcript(ARTICLE)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return json.loads(CHECKED.read_text(encoding="utf-8"))["checked"]


@pytest.fixture(scope="module")
def own_times() -> dict[int, float]:
    starts = load_meta(ARTICLE).passage_starts
    assert starts, "the bundled metadata has no passage_starts"
    return starts


def _by_line(transcript):
    return {p.line: p for p in transcript.passages}


def test_checked_rows_still_name_the_same_paragraphs(transcript, rows):
    by_line = _by_line(transcript)
    for row in rows:
        passage = by_line[row["line"]]
        assert passage.id == row["passage"] and passage.turn == row["turn"]
        assert passage.text.startswith(row["opens"]), row["line"]


def test_checked_rows_cover_every_long_turn(transcript, rows):
    long_turns = {t.index for t in transcript.turns if len(t.passage_indices) >= 3}
    assert long_turns <= {row["turn"] for row in rows}


def test_every_derived_time_is_within_tolerance_of_the_checked_one(transcript, rows, own_times):
    by_line = _by_line(transcript)
    errors = []
    for row in rows:
        passage = by_line[row["line"]]
        turn_start = transcript.turns[passage.turn].start
        if row["seconds"] is None:  # not said in the video: must not get a time of its own
            assert row["line"] not in own_times, row
            assert passage.start == turn_start
            continue
        if row["line"] not in own_times:
            assert passage.start == turn_start  # left at the turn start, not guessed
            continue
        assert passage.start == own_times[row["line"]]
        error = abs(passage.start - row["seconds"])
        assert error <= TOLERANCE, (row["line"], passage.start, row["seconds"])
        errors.append(error)
    assert len(errors) >= MIN_OWN_TIMES, f"only {len(errors)} checked paragraphs are timed"


@pytest.mark.parametrize(
    ("opens", "said_at"),
    [("他也不喜欢冗长的会议", 17 * 60 + 41), ("如果得不到满意的答复", 19 * 60 + 35)],
    ids=["meetings-17:41", "gpu-cluster-19:35"],
)
def test_musk_answer_passages_link_to_their_own_moment(transcript, opens, said_at):
    [passage] = [p for p in transcript.passages if p.text.startswith(opens)]
    assert transcript.turns[passage.turn].start == pytest.approx(970.4)  # the answer: 16:10
    assert abs(passage.start - said_at) <= TOLERANCE
    assert f"t={int(passage.start)}s" in passage.link


def test_the_alignment_script_reproduces_the_stored_times(own_times):
    """Re-running ``benchmarks/align_passages.py`` gives exactly the stored table (skipped
    when the English transcript, which is shared material, is not at hand)."""
    captions = shared_dir() / "data" / WHISPER_NAME
    if not captions.is_file():
        pytest.skip(f"English Whisper transcript not found at {captions}")
    from benchmarks.align_passages import align, load_article, passage_starts, read_captions

    transcript, glossary = load_article(ARTICLE)
    derived = passage_starts(align(transcript, read_captions(captions), glossary))
    assert {int(k): v for k, v in derived.items()} == own_times
