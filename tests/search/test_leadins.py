"""A short paragraph is shown with the one after it in its turn (`bot.search.leadins`): the
units themselves, the library's hits, quotes saved across the two, and what eval scores."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.evaluation import evaluate
from bot.model import GUEST
from bot.search.leadins import LATIN_LEAD_IN_CHARS, LEAD_IN_CHARS, is_lead_in, quote_units
from bot.text.normalize import matching_form


@st.composite
def rankings(draw: st.DrawFn) -> tuple[list[int], dict[int, int], int]:
    size = draw(st.integers(0, 12))
    order = draw(st.permutations(range(size)))
    following = draw(st.dictionaries(st.integers(0, max(size - 1, 0)),
                                     st.integers(0, max(size - 1, 0)), max_size=size))
    following = {p: q for p, q in following.items() if p != q and p < size and q < size}
    return list(order), following, draw(st.integers(0, 8))


@given(rankings())
def test_units_keep_the_ranking_and_show_no_paragraph_twice(ranked) -> None:
    order, following, count = ranked
    units = quote_units(order, count, following.get)
    assert len(units) == min(count, len(units)) <= count
    shown = [p for unit in units for p in unit if p is not None]
    assert len(shown) == len(set(shown))  # never one paragraph twice
    firsts = [first for first, _ in units]
    assert firsts == sorted(firsts, key=order.index)  # the ranking's order
    for first, after in units:
        # Attached exactly when it opens onto one not already shown above it.
        earlier = {p for unit in units[: units.index((first, after))] for p in unit}
        wanted = following.get(first)
        assert after == (wanted if wanted is not None and wanted not in earlier else None)
    if count and order:
        assert units[0][0] == order[0]


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
