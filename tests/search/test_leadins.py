"""A short paragraph is shown with the one after it in its turn (`bot.search.leadins`): the
units themselves, the library's hits, quotes saved across the two, and what eval scores."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bot.evaluation import evaluate
from bot.model import GUEST
from bot.search.leadins import LATIN_LEAD_IN_CHARS, LEAD_IN_CHARS, is_lead_in, quote_units
from bot.text.normalize import matching_form


@st.composite
def rankings(draw: st.DrawFn) -> tuple[list[int], dict[int, int], int]:
    """A ranking of paragraphs 0..n-1 and which short ones open onto the next (i → i + 1,
    as in a transcript), and how many quotes are asked for."""
    size = draw(st.integers(0, 12))
    order = draw(st.permutations(range(size)))
    short = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    following = {i: i + 1 for i in range(size - 1) if short[i]}
    return list(order), following, draw(st.integers(0, 8))


@given(rankings())
def test_units_keep_the_ranking_and_show_no_paragraph_twice(ranked) -> None:
    order, following, count = ranked
    leading = {after: before for before, after in following.items()}
    units = quote_units(order, count, following.get, leading.get)
    assert len(units) <= count
    shown = [p for unit in units for p in unit if p is not None]
    assert len(shown) == len(set(shown))  # never one paragraph twice
    # Each quote is one paragraph, or a short one with the one it opens onto.
    assert all(after is None or following.get(first) == after for first, after in units)
    # Quotes come in the order of their best-ranked paragraph, the best one first.
    rank = [min(order.index(p) for p in unit if p is not None) for unit in units]
    assert rank == sorted(rank)
    if count and order:
        assert order[0] in units[0]
    # Nothing ranked above the last quote is left out.
    if units:
        assert set(order[: rank[-1] + 1]) <= set(shown)
def test_short_is_measured_per_script() -> None:
    assert is_lead_in("我认为规模绝对是第一位的。", "zh")
    assert not is_lead_in("字" * LEAD_IN_CHARS["zh"], "zh")
    assert is_lead_in("Yes, that was the first office.", "en")
    assert not is_lead_in("w" * LATIN_LEAD_IN_CHARS, "en")


def test_a_short_answer_is_shown_with_what_the_speaker_says_next(library) -> None:
    hit = library.ask("规模重要吗?").hits[0]
    assert hit.passage.text == "我认为规模绝对是第一位的。"
    (after,) = hit.continuation
    position = library.passages.position(hit.passage.id)
    assert library.passages.position(after.id) == position + 1
    assert after.turn == hit.passage.turn and after.role == GUEST
    assert hit.text == f"{hit.passage.text}\n{after.text}"
    assert after.text in hit.snippet.replace("…", "") or len(hit.text) > 300
    assert hit.to_json()["continued_by"] == [after.id]


def test_the_paragraph_that_answers_is_shown_after_its_lead_in(library) -> None:
    # "如果没有规模,那你从根本上就无法训练这些大模型…" ranks first; the short paragraph
    # before it ("但我认为规模将是主要的决定因素,是第一主成分…") leads in to it: the quote
    # starts there, and the link goes to that moment.
    hit = library.ask("没有规模能训练大模型吗").shown[0]
    assert hit.passage.text.startswith("但我认为规模将是主要的决定因素")
    assert hit.continuation[0].text.startswith("如果没有规模")
    assert hit.to_json()["video_url"] == hit.passage.link


def test_a_lead_in_and_its_continuation_name_each_other(library) -> None:
    allowed = np.ones(len(library.passages), dtype=bool)
    pairs = [(p, library._continuation(p, allowed)) for p in range(len(library.passages))]
    pairs = [(p, q) for p, q in pairs if q is not None]
    assert pairs
    assert all(library._lead_in(q, allowed) == p for p, q in pairs)
    assert all(library._lead_in(p, allowed) in (None, p - 1) for p in range(len(allowed)))


QUESTIONS = ["规模重要吗?", "马斯克对开会是什么态度?", "OpenAI 早期团队有多少人?",
             "LLM OS 是什么?", "马斯克喜欢吃什么?", "小公司还有机会吗?"]


def test_continuations_stay_in_their_turn_and_pages_never_repeat_a_paragraph(library) -> None:
    for question in QUESTIONS:
        for speaker in ("guest", "any"):
            pages = [library.ask(question, top=3, speaker=speaker, offset=o).shown
                     for o in (0, 3)]
            seen: list[str] = []
            for hit in (h for page in pages for h in page):
                seen += [hit.passage.id, *(c.id for c in hit.continuation)]
                for after in hit.continuation:
                    assert is_lead_in(hit.passage.text, hit.passage.language)
                    assert after.turn == hit.passage.turn
                    assert after.transcript_id == hit.passage.transcript_id
                    if speaker == "guest":
                        assert after.role == GUEST
            assert len(seen) == len(set(seen)), question


def test_a_quote_may_run_on_into_the_next_paragraph_of_the_turn(library) -> None:
    hit = library.ask("规模重要吗?").hits[0]
    typed = hit.passage.text[-8:] + hit.continuation[0].text[:12]  # typed without the break
    match = library.find_quote(typed)
    assert match.found and match.passage == hit.passage
    assert match.quote_text == hit.passage.text[-8:] + "\n" + hit.continuation[0].text[:12]
    # Across two turns it is no quote: the speaker changed in between.
    passages = list(library.passages)
    first, second = next((a, b) for a, b in zip(passages, passages[1:], strict=False)
                         if a.turn != b.turn and a.role != b.role)
    assert not library.find_quote(first.text[-8:] + second.text[:12]).found


def test_eval_scores_the_whole_quote_shown(library) -> None:
    hit = library.ask("规模重要吗?").hits[0]
    only_after = hit.continuation[0].text[-10:]
    assert only_after not in hit.passage.text
    scored = evaluate(library, [{"id": "x", "kind": "zh", "q": "规模重要吗?",
                                 "gold": [only_after]}])
    assert scored["zh"]["hit@1"] == 1.0


def test_a_quote_across_any_break_of_a_turn_names_the_paragraph_it_starts_in(library) -> None:
    passages = list(library.passages)
    pairs = [(a, b) for a, b in zip(passages, passages[1:], strict=False)
             if a.turn == b.turn and a.transcript_id == b.transcript_id]
    assert len(pairs) > 20
    for first, second in pairs:
        match = library.find_quote(first.text[-7:] + second.text[:7])
        assert match.found and match.passage == first, (first.id, second.id)
        assert "\n" in match.quote_text  # the speaker's own characters, break included
        assert matching_form(match.quote_text) == matching_form(first.text[-7:] + second.text[:7])
