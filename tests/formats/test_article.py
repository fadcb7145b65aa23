"""The article parser on the bundled seed and on altered copies of it written to tmp_path.

Every altered copy gets the seed's metadata beside it (same stem), so the only difference
from the seed is the alteration under test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.formats.article import TranscriptError, short_question
from bot.formats.datadir import load_transcript
from bot.formats.metadata import load_meta, meta_path_for
from bot.model import GUEST, HOST
from tests.paths import SEED

SEED_META = meta_path_for(SEED)
SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.split("\n")
VIDEO_URL = "https://www.youtube.com/watch?v=c3b-JASoPi0"
SECTION_TITLES = [
    "大语言模型是新时代的 CPU",
    "规模是最主要决定因素",
    '马斯克 " 在管理世界上最大的创业公司 "',
]
FULL_WIDTH_COLON = "\uff1a"


def write_copy(
    folder: Path, content: str | bytes, *, name: str = "copy", meta: dict | str | None = None
) -> Path:
    """Write a transcript copy with metadata beside it (the seed's unless ``meta`` is given)."""
    path = folder / f"{name}.zh.txt"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    if meta is None:
        meta_text = SEED_META.read_text(encoding="utf-8")
    elif isinstance(meta, dict):
        meta_text = json.dumps(meta, ensure_ascii=False, indent=2)
    else:
        meta_text = meta
    meta_path_for(path).write_text(meta_text, encoding="utf-8")
    return path


def seed_meta() -> dict:
    return json.loads(SEED_META.read_text(encoding="utf-8"))


def line_number(text: str) -> int:
    """1-based number of the seed line that is exactly ``text``."""
    return SEED_LINES.index(text) + 1


def with_lines_inserted(before_line: int, *new: str) -> str:
    """The seed with ``new`` lines inserted so the first of them becomes line ``before_line``."""
    lines = SEED_LINES[: before_line - 1] + list(new) + SEED_LINES[before_line - 1 :]
    return "\n".join(lines)


def without_video_link(text: str) -> str:
    return "\n".join(
        line for line in text.split("\n")
        if not line.startswith("视频链接") and not line.startswith("https://www.youtube.com")
    )


@pytest.fixture(scope="module")
def seed():
    return load_transcript(SEED)


def shape(transcript) -> tuple[list[str], int, int, str]:
    return (
        [s.title for s in transcript.sections],
        len(transcript.turns_by_role(HOST)),
        len(transcript.turns_by_role(GUEST)),
        transcript.video_url,
    )


# ---------------------------------------------------------------------------- the seed


def test_seed_has_three_sections_nine_host_and_nine_guest_turns(seed):
    assert shape(seed) == (SECTION_TITLES, 9, 9, VIDEO_URL)
    assert [t.role for t in seed.turns] == [HOST, GUEST] * 9
    assert seed.id == "karpathy-sequoia-2024"


def test_sections_start_at_their_heading_lines(seed):
    assert [s.line for s in seed.sections] == [line_number(t) for t in SECTION_TITLES]
    # Turns per section: 5 exchanges, 3 exchanges, 1 exchange.
    assert [len(s.turn_indices) for s in seed.sections] == [10, 6, 2]


def test_intro_is_kept_apart_and_never_a_passage(seed):
    first_heading = line_number(SECTION_TITLES[0])
    intro_lines = [line for line in SEED_LINES[: first_heading - 1] if line.strip()]
    assert seed.intro.split("\n") == intro_lines
    assert "我不得不恳求他允许我招人。" in seed.intro
    texts = {p.text for p in seed.passages}
    for line in intro_lines:
        assert line not in texts
        assert not any(line in text for text in texts if len(line) >= 8)
    assert min(p.line for p in seed.passages) > first_heading


def test_every_guest_passage_carries_the_question_its_turn_answers(seed):
    for turn in seed.turns_by_role(GUEST):
        host_turn = seed.turns[turn.index - 1]
        assert host_turn.role == HOST
        host_text = "\n".join(seed.passages[i].text for i in host_turn.passage_indices)
        expected = short_question(host_text)
        assert expected and expected.rstrip("…") in host_text.replace("\n", "")
        for index in turn.passage_indices:
            assert seed.passages[index].question == expected
    musk_answer = seed.passages[seed.turns[-1].passage_indices[0]]
    assert musk_answer.question == "通过与这些不可思议的领导者的密切合作,你学到了什么?"


def test_unlabelled_paragraphs_continue_the_current_speaker(seed):
    by_line = {p.line: p for p in seed.passages}
    host_open = by_line[line_number(next(x for x in SEED_LINES if x.startswith("Q:安德烈,")))]
    host_more = by_line[host_open.line + 1]  # "除了在一家巧克力工厂楼上工作…" has no label
    guest_open = by_line[host_open.line + 2]  # "卡帕西:是的,…"
    guest_more = by_line[host_open.line + 3]  # "我们在那里待了大概两年…" has no label
    assert (host_open.role, host_more.role) == (HOST, HOST)
    assert host_open.turn == host_more.turn
    assert (guest_open.role, guest_more.role) == (GUEST, GUEST)
    assert guest_open.turn == guest_more.turn != host_open.turn
    # Labels are cut off the quoted text.
    assert host_open.text.startswith("安德烈,非常感谢")
    assert guest_open.text.startswith("是的,OpenAI")
    assert guest_more.speaker == "Andrej Karpathy (卡帕西)"


def test_passages_are_stable_across_parses_and_locations(seed, tmp_path):
    again = load_transcript(SEED)
    elsewhere = load_transcript(write_copy(tmp_path, SEED_TEXT))
    expected = [(p.id, p.text, p.line) for p in seed.passages]
    assert [(p.id, p.text, p.line) for p in again.passages] == expected
    assert [(p.id, p.text, p.line) for p in elsewhere.passages] == expected
    assert len({p.id for p in seed.passages}) == len(seed.passages) == 76
    assert seed.passages[0].id == "karpathy-sequoia-2024/p0"


def test_turn_starts_from_the_metadata_are_attached(seed):
    starts = seed_meta()["turn_starts"]
    assert [t.start for t in seed.turns] == [float(s) for s in starts]
    for turn in seed.turns:
        first = seed.passages[turn.passage_indices[0]]
        assert first.start == turn.start
    musk = seed.turns[-1]
    assert seed.passages[musk.passage_indices[0]].link == f"{VIDEO_URL}&t=970s"


def test_passage_starts_from_the_metadata_override_the_turn_start(seed):
    """A paragraph with its own time in ``passage_starts`` starts there; others keep the
    turn's start (not a guess), and the own times never run backwards inside a turn."""
    own = {int(k): v for k, v in seed_meta()["passage_starts"].items()}
    assert own, "the bundled metadata has passage_starts"
    for turn in seed.turns:
        timed = []
        for index in turn.passage_indices:
            passage = seed.passages[index]
            assert passage.start == own.get(passage.line, turn.start)
            if passage.line in own:
                timed.append(passage.start)
        assert timed == sorted(timed)
    last = seed.passages[-1]
    assert last.link == f"{VIDEO_URL}&t={int(own[last.line])}s"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"3": 10.0}, "not a paragraph of an interview turn"),  # an intro line
        ({"18": 50.0}, "must be at or after 97.3s and before 135.5s"),  # before its turn
        ({"18": 200.0}, "must be at or after 97.3s and before 135.5s"),  # in the next turn
        ({"18": 110.0, "19": 105.0}, "must be at or after 110s"),  # runs backwards
    ],
)
def test_bad_passage_starts_are_refused_with_the_paragraph_line(change, problem, tmp_path):
    meta = seed_meta()
    meta["passage_starts"] = change
    path = write_copy(tmp_path, SEED_TEXT, meta=meta)
    with pytest.raises(TranscriptError, match=problem) as caught:
        load_transcript(path)
    assert caught.value.line == max(int(k) for k in change)
    assert "passage_starts" in str(caught.value)


def test_short_question_keeps_the_spacing_between_its_sentences():
    # English captions: two question sentences, cut from the text, not glued together.
    assert short_question("It's amazing. Nick? I'm going to guess right here?") == (
        "It's amazing. Nick? I'm going to guess right here?")
    assert short_question("你认为还有机会吗?OpenAI 会在哪些领域占据主导地位?") == (
        "你认为还有机会吗?OpenAI 会在哪些领域占据主导地位?")


def test_short_question_keeps_the_last_questions_not_the_preamble():
    text = "我想先介绍一下背景。他做过很多事。你怎么看?为什么?"
    assert short_question(text) == "你怎么看?为什么?"
    assert short_question("先说一句。你怎么看\uff1f") == "你怎么看\uff1f"
    assert short_question("没有问号的一句话。最后一句") == "最后一句"


# ------------------------------------------------------------ harmless format variations


VARIANTS = {
    "crlf": lambda: SEED_TEXT.replace("\n", "\r\n").encode("utf-8"),
    "bom": lambda: "\ufeff".encode() + SEED_TEXT.encode("utf-8"),
    "bom_and_crlf": lambda: ("\ufeff" + SEED_TEXT.replace("\n", "\r\n")).encode("utf-8"),
    "full_width_colons": lambda: SEED_TEXT.replace("Q:", "Q" + FULL_WIDTH_COLON)
    .replace("卡帕西:", "卡帕西" + FULL_WIDTH_COLON)
    .replace("视频链接:", "视频链接" + FULL_WIDTH_COLON)
    .encode("utf-8"),
    "blank_lines_between_paragraphs": lambda: SEED_TEXT.replace("\n", "\n\n").encode("utf-8"),
    "ideographic_space_indent": lambda: "\n".join(
        "\u3000\u3000" + line if line else line for line in SEED_LINES
    ).encode("utf-8"),
}


# Variants that move paragraphs to other lines: where seed line n ends up.
VARIANT_LINES = {"blank_lines_between_paragraphs": lambda n: 2 * n - 1}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_format_variants_parse_like_the_seed(variant, seed, tmp_path):
    content = VARIANTS[variant]()
    assert content != SEED_TEXT.encode("utf-8")
    meta = seed_meta()
    moved = VARIANT_LINES.get(variant, lambda n: n)
    # passage_starts is keyed by line, so a copy with other line numbers needs its own keys.
    meta["passage_starts"] = {str(moved(int(k))): v for k, v in meta["passage_starts"].items()}
    parsed = load_transcript(write_copy(tmp_path, content, meta=meta))
    assert shape(parsed) == (SECTION_TITLES, 9, 9, VIDEO_URL)
    assert [p.text for p in parsed.passages] == [p.text for p in seed.passages]
    assert [p.role for p in parsed.passages] == [p.role for p in seed.passages]
    assert [p.start for p in parsed.passages] == [p.start for p in seed.passages]


def test_swapped_colon_styles_are_equivalent(seed, tmp_path):
    """The seed uses ASCII colons; an article with only full-width ones parses the same."""
    assert FULL_WIDTH_COLON not in SEED_TEXT
    swapped = re.sub(r":(?!//)", FULL_WIDTH_COLON, SEED_TEXT)  # every colon but the URL's
    parsed = load_transcript(write_copy(tmp_path, swapped))
    assert shape(parsed) == (SECTION_TITLES, 9, 9, VIDEO_URL)
    assert [p.question for p in parsed.passages][-1].endswith("你学到了什么?")


def test_short_quoted_sentence_inside_an_answer_is_not_a_heading(tmp_path):
    last_guest = "老实说,离开这样的环境去一家普通公司,你真的会想念这些独特的地方。"
    at = line_number(last_guest)
    content = with_lines_inserted(at, '他会说:" 好。"')
    parsed = load_transcript(write_copy(tmp_path, content))
    assert len(parsed.sections) == 3
    inserted = next(p for p in parsed.passages if p.line == at)
    assert (inserted.text, inserted.role) == ('他会说:" 好。"', GUEST)


def test_missing_video_link_parses_with_an_empty_url(tmp_path):
    parsed = load_transcript(write_copy(tmp_path, without_video_link(SEED_TEXT)))
    assert shape(parsed) == (SECTION_TITLES, 9, 9, "")
    assert all(p.video_url == "" and p.link == "" for p in parsed.passages)


def test_metadata_video_url_supplies_a_missing_link(tmp_path):
    meta = seed_meta() | {"video_url": "https://example.com/watch?v=abc"}
    parsed = load_transcript(write_copy(tmp_path, without_video_link(SEED_TEXT), meta=meta))
    assert parsed.video_url == "https://example.com/watch?v=abc"
    assert parsed.passages[0].link == "https://example.com/watch?v=abc&t=53s"


def test_transcript_without_metadata_needs_guest_labels(tmp_path):
    path = tmp_path / "plain.zh.txt"
    path.write_text("开场白。\n第一部分\nQ:你好吗?\n嘉宾:很好。\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="no guest turns") as caught:
        load_transcript(path)
    assert str(caught.value).startswith(f"{path}:3: ")
    meta_path_for(path).write_text('{"guest": {"labels": ["嘉宾"]}}', encoding="utf-8")
    parsed = load_transcript(path)
    assert parsed.id == "plain"
    assert [t.role for t in parsed.turns] == [HOST, GUEST]
    assert parsed.sections[0].title == "第一部分"
    assert parsed.passages[1].question == "你好吗?"


# ------------------------------------------------------------------- malformed files


def _heading_then_unlabelled() -> tuple[str, int]:
    heading = line_number(SECTION_TITLES[1])
    return with_lines_inserted(heading + 1, "这是一段没有说话人的文字。"), heading + 1


def _label_without_text_at_end() -> tuple[str, int]:
    at = line_number("视频链接:")
    return with_lines_inserted(at, "卡帕西:"), at


def _video_label_without_url() -> tuple[str, int]:
    at = line_number("视频链接:")
    return "\n".join(SEED_LINES[:at] + ["稍后补上"]), at + 1


def _no_speaker_turns() -> tuple[str, int]:
    return "这是一篇普通的文章。\n\n它没有任何对话。\n", 1


MALFORMED_TEXT = {
    "heading_then_unlabelled_paragraph": (_heading_then_unlabelled, "without a speaker"),
    "label_without_text": (_label_without_text_at_end, "label with no text"),
    "video_label_without_url": (_video_label_without_url, "expected a video URL"),
    "no_speaker_turns": (_no_speaker_turns, "no speaker turns"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_TEXT))
def test_malformed_transcript_names_file_and_line(case, tmp_path):
    make, problem = MALFORMED_TEXT[case]
    content, line = make()
    path = write_copy(tmp_path, content)
    with pytest.raises(TranscriptError) as caught:
        load_transcript(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert problem in str(caught.value)


def test_invalid_utf8_names_the_line(tmp_path):
    encoded = [line.encode("utf-8") for line in SEED_LINES]
    encoded[4] = encoded[4][:6] + b"\xff\xfe" + encoded[4][6:]
    path = write_copy(tmp_path, b"\n".join(encoded))
    with pytest.raises(TranscriptError, match="not valid UTF-8") as caught:
        load_transcript(path)
    assert str(caught.value).startswith(f"{path}:5: ")


@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n\t\n"], ids=["empty", "blank_lines"])
def test_empty_file_is_refused_with_file_and_line(content, tmp_path):
    path = write_copy(tmp_path, content)
    with pytest.raises(TranscriptError, match="empty") as caught:
        load_transcript(path)
    assert str(caught.value).startswith(f"{path}:1: ")


@pytest.mark.parametrize("delta", [-1, 2])
def test_wrong_number_of_turn_starts_is_refused(delta, tmp_path):
    meta = seed_meta()
    starts = meta["turn_starts"]
    extra = [2000.0 + i for i in range(delta)]
    meta["turn_starts"] = starts[:delta] if delta < 0 else starts + extra
    path = write_copy(tmp_path, SEED_TEXT, meta=meta)
    with pytest.raises(TranscriptError) as caught:
        load_transcript(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:")
    assert caught.value.line > 0
    assert meta_path_for(path).name in message
    assert f"{len(meta['turn_starts'])} turn_starts" in message and "18 turns" in message


def test_invalid_metadata_json_names_the_meta_file_and_line(tmp_path):
    broken = '{\n  "id": "x",\n  "title": \n}\n'
    path = write_copy(tmp_path, SEED_TEXT, meta=broken)
    with pytest.raises(TranscriptError, match="invalid JSON") as caught:
        load_meta(path)
    assert str(caught.value).startswith(f"{meta_path_for(path)}:4: ")
    with pytest.raises(TranscriptError):
        load_transcript(path)


def test_metadata_that_is_not_an_object_is_refused(tmp_path):
    path = write_copy(tmp_path, SEED_TEXT, meta="[1, 2]")
    with pytest.raises(TranscriptError, match="JSON object") as caught:
        load_meta(path)
    assert str(caught.value).startswith(f"{meta_path_for(path)}:1: ")


@pytest.mark.parametrize(
    ("key", "bad_value", "problem"),
    [
        ("turn_starts", ["soon"], "turn_starts[0]: expected a number"),
        ("turn_starts", [12, -1], "turn_starts[1]: must not be negative"),
        ("guest", {"name": "Andrej", "labels": "卡帕西"}, "guest.labels: expected a list"),
        ("host", "Q", "host: expected an object"),
        ("terms", "卡帕西", "terms: expected a list"),
        ("glossary", ["musk"], "glossary: expected an object"),
        ("turns", [{"start": 1}], "turns[0]: missing 'speaker'"),
        ("passage_starts", [12.5], "passage_starts: expected an object"),
        ("passage_starts", {"line 17": 12.5}, "passage_starts: a key is a paragraph's line"),
        ("passage_starts", {"17": -1}, "passage_starts.17: must not be negative"),
        ("passage_starts", {"17": "soon"}, "passage_starts.17: expected a number"),
        ("aliases", {"老马": 7}, "aliases.老马: expected a string"),
    ],
)
def test_bad_metadata_values_name_the_meta_file_and_the_key_line(
    tmp_path, key, bad_value, problem
):
    meta = seed_meta() | {key: bad_value}
    path = write_copy(tmp_path, SEED_TEXT, meta=meta)
    text = meta_path_for(path).read_text(encoding="utf-8")
    key_line = text[: text.index(f'"{key}":')].count("\n") + 1
    with pytest.raises(TranscriptError, match=re.escape(problem)) as caught:
        load_meta(path)
    assert str(caught.value).startswith(f"{meta_path_for(path)}:{key_line}: ")


def test_guest_labels_from_metadata_decide_who_speaks(tmp_path):
    meta = seed_meta()
    meta["guest"]["labels"] = ["安德烈"]  # 卡帕西: is no longer a guest label
    path = write_copy(tmp_path, SEED_TEXT, meta=meta)
    with pytest.raises(TranscriptError):
        load_transcript(path)  # 18 turn_starts for 9 turns: the labels are wrong
    del meta["turn_starts"]
    path = write_copy(tmp_path, SEED_TEXT, name="untimed", meta=meta)
    with pytest.raises(TranscriptError, match="no guest turns") as caught:
        load_transcript(path)
    assert caught.value.line == line_number(SEED_LINES[14])
    relabelled = SEED_TEXT.replace("卡帕西:", "安德烈:")
    parsed = load_transcript(write_copy(tmp_path, relabelled, name="relabelled", meta=meta))
    assert shape(parsed) == (SECTION_TITLES, 9, 9, VIDEO_URL)
