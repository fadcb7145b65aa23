"""Checks that the stored turn start times point at the right moments of the video.

The Chinese article has no times; ``turn_starts`` in its metadata was worked out by reading
it beside an English Whisper transcript of the same video. That transcript is shared
material, not part of the project, so only a few distinctive keywords per turn live here:
enough to prove each time lands where that turn begins without storing the English text.
"""

from __future__ import annotations

import itertools
import json

import pytest

from benchmarks.alignment import line_at, text_near
from bot.formats.article import parse_article, read_text
from bot.formats.captions import Cue, read_captions
from bot.formats.metadata import load_meta, meta_path_for
from tests.paths import SEED, WHISPER_NAME, shared_dir

ARTICLE = SEED
META = meta_path_for(SEED)

# Seconds either side of a stored time in which the turn's keywords must be heard.
TOLERANCE = 5.0

# Per article turn, in order: who speaks and at most four lower-case words said within TOLERANCE of
# the turn's start in the English transcript (host turns: what the question opens with;
# guest turns: the first words of the answer).
EXPECTED_TURNS: list[tuple[str, tuple[str, ...]]] = [
    ("host", ("joining", "welcome back")),  # thanks, then OpenAI's first office
    ("guest", ("right there", "greg's apartment")),  # the office above the chocolate factory
    ("host", ("needs no introduction", "backstory")),  # background intro, then AGI question
    ("guest", ("you're right", "years ago")),  # AGI path now clear, LLM OS
    ("host", ("view", "lives differently")),  # how should we live?
    ("guest", ("i don't know", "influence")),  # build it, influence it
    ("host", ("independent agent", "elephant")),  # OpenAI dominating the ecosystem
    ("guest", ("high-level impression",)),  # OpenAI builds the LLM OS platform
    ("host", ("race is on", "anthropic")),  # how will the model ecosystem play out?
    ("guest", ("operating systems analogy", "oligopoly")),  # Windows/macOS vs Linux
    ("host", ("elephant", "scale")),  # is scale all that matters?
    ("guest", ("definitely number one",)),  # scale is number one
    ("host", ("ingredients", "lower in priority")),  # what else matters besides scale?
    ("guest", ("first thing", "train")),  # infrastructure and expertise
    ("host", ("ecosystem", "moving so quickly")),  # research problems that keep you up
    ("guest", ("algorithm side", "diffusion")),  # diffusion vs autoregressive, efficiency
    ("host", ("switching gears", "greats")),  # working with Elon; the rowing joke
    ("guest", ("unique style", "companies")),  # how Elon runs his companies
]


@pytest.fixture(scope="module")
def cues():
    path = shared_dir() / "data" / WHISPER_NAME
    if not path.is_file():
        pytest.skip(
            f"English Whisper transcript not found at {path}: timestamp alignment not checked"
        )
    return read_captions(path)


@pytest.fixture(scope="module")
def meta() -> dict:
    return json.loads(META.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def turn_starts(meta) -> list[float]:
    return meta["turn_starts"]


@pytest.fixture(scope="module")
def article_turns():
    """The article's turns as the project's own parser reads them, with the stored times."""
    meta = load_meta(ARTICLE)
    transcript = parse_article(
        read_text(ARTICLE),
        str(ARTICLE),
        transcript_id=meta.id,
        labels=meta.labels,
        turn_starts=meta.turn_starts,
    )
    return transcript.turns


# --- the stored times ---------------------------------------------------------------------


def test_one_start_per_article_turn(article_turns, turn_starts):
    roles = [turn.role for turn in article_turns]
    assert roles == [role for role, _ in EXPECTED_TURNS], "article turns changed"
    assert isinstance(turn_starts, list)
    assert len(turn_starts) == len(roles) == 18
    assert [turn.start for turn in article_turns] == turn_starts


def test_starts_strictly_increase(turn_starts):
    assert all(isinstance(t, (int, float)) and t >= 0 for t in turn_starts)
    assert all(a < b for a, b in itertools.pairwise(turn_starts)), turn_starts


def test_starts_fall_within_the_video(cues, turn_starts):
    video_end = cues[-1].end
    assert max(turn_starts) <= video_end


@pytest.mark.parametrize("turn", range(len(EXPECTED_TURNS)))
def test_start_lands_where_the_turn_begins(cues, turn_starts, turn):
    role, keywords = EXPECTED_TURNS[turn]
    heard = text_near(cues, turn_starts[turn], TOLERANCE)
    missing = [word for word in keywords if word not in heard]
    assert not missing, f"turn {turn} ({role}) at {turn_starts[turn]}s: {missing} not heard"


@pytest.mark.parametrize(
    "turn", [i for i, (role, _) in enumerate(EXPECTED_TURNS) if role == "guest"]
)
def test_each_answer_starts_right_after_a_question(cues, turn_starts, turn):
    """The line just before an answer's start is the host's question, not the answer itself.

    This pins the guest times to the line, not just to within the tolerance window.
    """
    index = line_at(cues, turn_starts[turn])
    assert index > 0
    assert cues[index - 1].text.rstrip().endswith("?"), cues[index - 1].start
    assert not cues[index].text.rstrip().endswith("?")


@pytest.mark.parametrize(
    "turn", [i for i, (role, _) in enumerate(EXPECTED_TURNS) if role == "host"]
)
def test_each_host_turn_asks_something(cues, turn_starts, turn):
    start, end = turn_starts[turn], turn_starts[turn + 1]
    asked = [cue.text for cue in cues if start <= cue.start < end and "?" in cue.text]
    assert asked, f"no question between {start}s and {end}s"


# --- the helpers ---------------------------------------------------------------------------


CUES = [
    Cue(0.0, 3.12, "a", 1),
    Cue(3.12, 5.56, "b", 2),
    Cue(9.0, 10.0, "c", 3),
    Cue(20.0, 21.0, "d", 4),
]


@pytest.mark.parametrize(
    ("seconds", "index"),
    [
        (1.0, 0),  # inside the first cue
        (3.12, 1),  # a shared boundary belongs to the cue that starts there
        (6.0, 1),  # in a gap, nearer the cue before
        (8.0, 2),  # in a gap, nearer the cue after
        (-4.0, 0),  # before everything
        (99.0, 3),  # after everything
    ],
)
def test_line_at(seconds, index):
    assert line_at(CUES, seconds) == index


def test_line_at_needs_cues():
    with pytest.raises(ValueError, match="at least one cue"):
        line_at([], 1.0)


def test_text_near_joins_lowercased_cues_overlapping_the_window():
    cues = [Cue(0.0, 1.0, "Far", 1), Cue(9.0, 10.0, "Near", 2), Cue(12.0, 13.0, "Also", 3)]
    assert text_near(cues, 12.0, 3.0) == "near also"
