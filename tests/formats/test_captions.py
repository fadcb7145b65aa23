"""Caption parsing and sentence passages, on small real files written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.formats.captions import (
    CaptionError,
    CaptionPassage,
    Cue,
    detect_format,
    merge_into_passages,
    parse_srt,
    parse_vtt,
    parse_whisper,
    read_captions,
)
from bot.text.sentences import sentence_spans
from tests.paths import WHISPER_NAME, shared_dir

WHISPER = """\
[00:00:00.000 --> 00:00:03.120]   [MUSIC PLAYING]
[00:00:03.120 --> 00:00:05.560]   I'm thrilled to introduce our next speaker,
[00:00:05.560 --> 00:00:06.580]   Andrej Karpathy.

[01:00:06.580 --> 01:00:08.760]   Most of us have watched his videos.
"""

SRT = """\
1
00:00:01,000 --> 00:00:02,500
<i>Hello</i> there,
general Kenobi.

2
00:00:03,000 --> 00:00:04,000
[APPLAUSE]

3
00:00:04,000 --> 00:00:06,000 X1:100 X2:200 Y1:10 Y2:20
{\\an8}Second cue.
"""

VTT = """\
WEBVTT
Kind: captions
Language: en

NOTE This note
spans two lines --> and mentions an arrow.

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:02.000 align:start position:0%
<v Stephanie Zhan>Tom &amp; Jerry &lt;3</v>

00:00:02.000 --> 00:00:04.000
<c.colorE5E5E5>scale</c><00:00:02.500><c> matters</c>

00:00:04.000 --> 00:00:05.000
(audience applauding)
"""


def write(tmp_path: Path, name: str, text: str, *, newline: str = "\n", bom: bool = False) -> Path:
    path = tmp_path / name
    data = text.replace("\n", newline).encode("utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return path


def texts(cues: list[Cue]) -> list[str]:
    return [cue.text for cue in cues]


# ----------------------------------------------------------------------------- formats


def test_whisper_parsed_with_times_lines_and_sounds_dropped(tmp_path: Path) -> None:
    cues = read_captions(write(tmp_path, "talk.whisper.txt", WHISPER))
    assert texts(cues) == [
        "I'm thrilled to introduce our next speaker,",
        "Andrej Karpathy.",
        "Most of us have watched his videos.",
    ]
    assert (cues[0].start, cues[0].end, cues[0].line) == (3.12, 5.56, 2)
    assert cues[2].start == pytest.approx(3606.58)
    assert cues[2].line == 5


def test_whisper_accepts_minutes_only_timestamps() -> None:
    cues = parse_whisper("[01:02.500 --> 01:04.000]   Short file.\n", "short.txt")
    assert cues == [Cue(62.5, 64.0, "Short file.", 1)]


def test_srt_parsed_with_tags_positions_and_sound_cues_removed(tmp_path: Path) -> None:
    cues = read_captions(write(tmp_path, "talk.srt", SRT))
    assert cues == [
        Cue(1.0, 2.5, "Hello there, general Kenobi.", 2),
        Cue(4.0, 6.0, "Second cue.", 11),
    ]


def test_vtt_parsed_with_header_notes_identifiers_settings_tags_and_entities(
    tmp_path: Path,
) -> None:
    cues = read_captions(write(tmp_path, "talk.vtt", VTT))
    assert cues == [
        Cue(1.0, 2.0, "Tom & Jerry <3", 12, voice="Stephanie Zhan"),
        Cue(2.0, 4.0, "scale matters", 15),
    ]


@pytest.mark.parametrize("name, text", [("a.txt", WHISPER), ("a.srt", SRT), ("a.vtt", VTT)])
def test_bom_and_crlf_change_nothing(tmp_path: Path, name: str, text: str) -> None:
    plain = read_captions(write(tmp_path, name, text))
    (tmp_path / "crlf").mkdir()
    windows = read_captions(write(tmp_path / "crlf", name, text, newline="\r\n", bom=True))
    assert windows == plain
    assert plain


def test_empty_cues_are_skipped() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\n<i> </i>\n\n2\n00:00:02,000 --> 00:00:03,000\nWords.\n"
    assert texts(parse_srt(srt, "e.srt")) == ["Words."]
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\n \n\n00:02.000 --> 00:03.000\n<c> </c>\nWords.\n"
    assert texts(parse_vtt(vtt, "e.vtt")) == ["Words."]
    whisper = "[00:00.000 --> 00:01.000]\n[00:01.000 --> 00:02.000]   Words.\n"
    assert texts(parse_whisper(whisper, "e.txt")) == ["Words."]


def test_srt_blocks_may_be_separated_by_lines_of_spaces() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\nOne.\n   \n2\n00:00:02,000 --> 00:00:03,000\nTwo.\n"
    assert texts(parse_srt(srt, "s.srt")) == ["One.", "Two."]


def test_overlapping_cues_kept_in_start_order() -> None:
    srt = (
        "1\n00:00:05,000 --> 00:00:08,000\nlater\n\n"
        "2\n00:00:01,000 --> 00:00:06,000\nearlier and overlapping\n\n"
        "3\n00:00:05,500 --> 00:00:09,000\nmiddle\n"
    )
    cues = parse_srt(srt, "o.srt")
    assert texts(cues) == ["earlier and overlapping", "later", "middle"]
    assert [c.line for c in cues] == [6, 2, 10]


def test_youtube_rolling_captions_lose_their_repeats() -> None:
    vtt = (
        "WEBVTT\nKind: captions\n\n"
        "00:00:00.000 --> 00:00:02.350 align:start position:0%\n \n"
        "hello<00:00:00.320><c> world</c>\n\n"
        "00:00:02.350 --> 00:00:02.360 align:start position:0%\nhello world\n \n\n"
        "00:00:02.360 --> 00:00:05.000 align:start position:0%\nhello world\n"
        "and<00:00:03.000><c> more</c>\n\n"
        "00:00:05.000 --> 00:00:05.010 align:start position:0%\nand more\n"
    )
    assert texts(parse_vtt(vtt, "yt.vtt")) == ["hello world", "and more"]


def test_a_repeated_whisper_line_is_dropped_but_a_new_one_is_not() -> None:
    whisper = (
        "[00:00.000 --> 00:02.000]   I think that's a good question.\n"
        "[00:02.000 --> 00:04.000]   I think that's a good question.\n"
        "[00:04.000 --> 00:05.000]   So, question.\n"
    )
    assert texts(parse_whisper(whisper, "r.txt")) == [
        "I think that's a good question.",
        "So, question.",
    ]


def test_a_cue_repeating_the_tail_of_the_previous_one_is_dropped() -> None:
    whisper = (
        "[00:00.000 --> 00:02.000]   And he said, double the cluster.\n"
        "[00:02.000 --> 00:03.000]   double the cluster.\n"
        "[00:03.000 --> 00:04.000]   cluster.\n"
        "[00:04.000 --> 00:05.000]   Then we did.\n"
    )
    assert texts(parse_whisper(whisper, "t.txt")) == [
        "And he said, double the cluster.",
        "Then we did.",
    ]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name, text, line, problem",
    [
        ("w.txt", "[00:00:01.000 --> 00:00:02.000]   a\n[00:00:0x.000 --> 00:00:03.000]   b\n",
         2, "malformed timestamp"),
        ("w.txt", "[00:00:01.000 --> 00:00:02.000]   a\n\n[00:00:02.000 --> 00:01:61.000]   b\n",
         3, "malformed timestamp"),
        ("w.txt", "[00:00:01.000 --> 00:00:02.000]   a\njust some words\n", 2, "expected"),
        ("s.srt", "1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n00:00:02,000 --> 00:00:3,00\nb\n",
         6, "malformed timestamp"),
        ("s.srt", "1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n00:00:02,000 -> 00:00:03,000\nb\n",
         6, "malformed timing line"),
        ("v.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\na\n\nid\n00:02.000 --> 00:03.00\nb\n",
         7, "malformed timestamp"),
        ("v.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\na\n\n00:02:000 --> 00:03.000\nb\n",
         6, "malformed timestamp"),
    ],
)
def test_malformed_timestamps_name_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, problem: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(CaptionError) as caught:
        read_captions(path)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: {problem}")


@pytest.mark.parametrize(
    "name, text, line",
    [
        ("w.txt", "[00:00:05.000 --> 00:00:04.000]   backwards\n", 1),
        ("s.srt", "1\n00:00:05,000 --> 00:00:04,999\nbackwards\n", 2),
        ("v.vtt", "WEBVTT\n\n00:05.000 --> 00:04.000\nbackwards\n", 3),
    ],
)
def test_cue_ending_before_it_starts_is_an_error(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(CaptionError, match="ends .* before it starts") as caught:
        read_captions(path)
    assert caught.value.line == line


def test_cue_block_without_text_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "n.srt", "1\n00:00:01,000 --> 00:00:02,000\n\n2\n")
    with pytest.raises(CaptionError, match="cue has no text") as caught:
        read_captions(path)
    assert caught.value.line == 2


def test_vtt_without_header_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "h.vtt", "00:01.000 --> 00:02.000\nwords\n")
    with pytest.raises(CaptionError, match="WEBVTT") as caught:
        read_captions(path)
    assert caught.value.line == 1


def test_article_or_binary_is_not_read_as_captions(tmp_path: Path) -> None:
    with pytest.raises(CaptionError, match="not a caption file"):
        read_captions(write(tmp_path, "article.txt", "Q: 你好\n卡帕西: 你好。\n"))
    binary = tmp_path / "b.srt"
    binary.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe\n")
    with pytest.raises(CaptionError, match="UTF-8") as caught:
        read_captions(binary)
    assert caught.value.line == 3


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("x.txt", WHISPER, "whisper"),
        ("x.txt", "\ufeff" + SRT, "srt"),
        ("x.txt", SRT.split("\n", 1)[1], "srt"),
        ("x.txt", VTT, "vtt"),
        ("x.srt", "garbage", "srt"),
        ("x.VTT", "garbage", "vtt"),
        ("x.txt", "Q: 你好\n卡帕西: 大模型。\n", "article"),
        ("x.md", "", "article"),
    ],
)
def test_detect_format(name: str, text: str, expected: str) -> None:
    assert detect_format(Path(name), text) == expected


# ----------------------------------------------------------------------------- passages


def cue(start: float, text: str, line: int = 0) -> Cue:
    return Cue(start, start + 1.0, text, line or int(start) + 1)


def numbered_sentences(count: int, start: float = 0.0) -> list[Cue]:
    """One cue per sentence half, so sentences always span two caption lines."""
    cues = []
    for n in range(count):
        cues.append(cue(start + 2 * n, f"Sentence number {n} starts here"))
        cues.append(cue(start + 2 * n + 1, "and ends here."))
    return cues


def test_sentences_split_on_english_and_chinese_punctuation() -> None:
    text = 'He said "no." Then? Mr. Musk left! 1.5 bits. 大模型很好。真的吗?是的!'
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        'He said "no."', "Then?", "Mr. Musk left!", "1.5 bits.", "大模型很好。", "真的吗?", "是的!",
    ]


def test_passages_hold_two_to_five_whole_sentences() -> None:
    for count in range(2, 23):
        passages = merge_into_passages(numbered_sentences(count), None)
        sizes = [len(sentence_spans(p.text)) for p in passages]
        assert sum(sizes) == count
        assert all(2 <= size <= 5 for size in sizes), (count, sizes)
        assert all(p.text.endswith("ends here.") for p in passages)


def test_passage_start_is_the_cue_where_its_first_sentence_begins() -> None:
    cues = [
        cue(10, "So I would say scale"),
        cue(11, "is definitely number one. I do think"),
        cue(12, "there are details. And data matters."),
        cue(13, "A lot."),
    ]
    passages = merge_into_passages(cues, None, max_sentences=2)
    assert [(p.start, p.end, p.line) for p in passages] == [(10, 13, 11), (12, 14, 13)]
    assert passages[0].text == (
        "So I would say scale is definitely number one. I do think there are details."
    )


def test_max_chars_caps_passage_length_but_never_cuts_a_sentence() -> None:
    long = "word " * 200 + "end."
    cues = [cue(0, "Short one."), cue(1, long), cue(2, "Short two."), cue(3, "Short three.")]
    passages = merge_into_passages(cues, None, max_chars=100)
    assert [p.text for p in passages][1] == long
    assert all(len(p.text) <= 100 for i, p in enumerate(passages) if i != 1)


def test_turn_table_assigns_roles_and_passages_never_cross_a_speaker_change() -> None:
    cues = [
        cue(0, "Welcome everyone."),
        cue(5, "What matters most? Tell us."),
        cue(10, "Scale is number one."),
        cue(11, "Data is second. Details matter. Compute too."),
        cue(20, "Thank you."),
    ]
    turns = [(4.0, "host"), (10.3, "guest"), (20.0, "host")]  # 10.3: rounded, after the cue
    passages = merge_into_passages(cues, turns)
    assert [(p.speaker_role, p.text) for p in passages] == [
        ("unknown", "Welcome everyone."),
        ("host", "What matters most? Tell us."),
        ("guest", "Scale is number one. Data is second. Details matter. Compute too."),
        ("host", "Thank you."),
    ]
    assert passages[2].start == 10


def test_without_a_turn_table_every_role_is_unknown_and_answers_leave_questions() -> None:
    cues = [
        cue(0, "We have heard a lot. What is your view?"),
        cue(3, "And is that all that matters?"),
        cue(6, "So I would say scale is definitely number one."),
        cue(9, "Details matter too."),
    ]
    passages = merge_into_passages(cues, None)
    assert {p.speaker_role for p in passages} == {"unknown"}
    assert passages[-1] == CaptionPassage(
        6, 10, "So I would say scale is definitely number one. Details matter too.", "unknown", 7
    )


def test_bad_turn_table_is_refused() -> None:
    with pytest.raises(ValueError, match="role 'editor'"):
        merge_into_passages([cue(0, "Hi.")], [(0.0, "editor")])
    with pytest.raises(ValueError, match="before the previous"):
        merge_into_passages([cue(0, "Hi.")], [(5.0, "host"), (1.0, "guest")])


def test_chinese_caption_lines_join_without_spaces() -> None:
    cues = [cue(0, "规模"), cue(1, "是第一位的。"), cue(2, "数据也很重要。")]
    (passage,) = merge_into_passages(cues, None)
    assert passage.text == "规模是第一位的。数据也很重要。"


# ----------------------------------------------------------------------------- real file


def shared_whisper_file() -> Path:
    return shared_dir() / "data" / WHISPER_NAME


def test_real_whisper_transcript_keeps_the_time_of_the_scale_answer() -> None:
    path = shared_whisper_file()
    if not path.is_file():
        pytest.skip(f"shared Whisper transcript not found at {path} (set QUOTEBOT_SHARED_DIR)")
    cues = read_captions(path)
    assert 900 <= len(cues) <= 1000
    assert not any(c.text.startswith(("[", "(")) for c in cues)
    passages = merge_into_passages(cues, None)
    (scale,) = [p for p in passages if "scale is definitely number one" in p.text]
    assert abs(scale.start - 587) < 3
    assert scale.text.startswith("So I would say scale")
    assert scale.line == 249
