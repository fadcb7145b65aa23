"""Caption formats, properly: who speaks (WebVTT voices, ``Q:`` labels), Chinese and Japanese
cues joined without spaces, and questions only where a question was asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.formats.article import TranscriptError
from bot.formats.captions import Cue, merge_into_passages, parse_vtt
from bot.formats.datadir import load_transcript
from bot.frontends.text_render import render_topics
from bot.library import Library
from bot.topics import table_of_contents

VOICES = """\
WEBVTT

00:00:01.000 --> 00:00:04.000
<v Host>What matters most when you train a model?

00:00:04.000 --> 00:00:08.000
<v Guest>Scale is number one. Data comes second.

00:00:08.000 --> 00:00:10.000
<v Guest>Details matter too.

00:00:11.000 --> 00:00:13.000
<v.loud Host>And what about compute?</v>

00:00:13.000 --> 00:00:16.000
<v Guest>Compute is scale. It is the same thing.
"""


def write(folder: Path, name: str, text: str, meta: dict | None = None) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    if meta is not None:
        stem = name.rsplit(".", 1)[0]
        (folder / f"{stem}.meta.json").write_text(json.dumps(meta, ensure_ascii=False))
    return path


def roles_and_texts(transcript) -> list[tuple[str, str]]:
    return [
        (turn.role, " ".join(transcript.passages[i].text for i in turn.passage_indices))
        for turn in transcript.turns
    ]


# ------------------------------------------------------------------------- voices


def test_vtt_host_and_guest_voices_make_separate_turns(tmp_path: Path) -> None:
    transcript = load_transcript(write(tmp_path, "talk.vtt", VOICES))  # no metadata at all
    assert roles_and_texts(transcript) == [
        ("host", "What matters most when you train a model?"),
        ("guest", "Scale is number one. Data comes second. Details matter too."),
        ("host", "And what about compute?"),
        ("guest", "Compute is scale. It is the same thing."),
    ]
    guest = transcript.passages[transcript.turns[1].passage_indices[0]]
    assert guest.speaker == "Guest" and guest.start == 4.0
    assert guest.question == "What matters most when you train a model?"
    last = transcript.passages[-1]
    assert last.question == "And what about compute?"


def test_voices_map_to_roles_through_the_metadata(tmp_path: Path) -> None:
    text = VOICES.replace("<v Host>", "<v Stephanie Zhan>").replace("<v.loud Host>", "<v SZ>")
    text = text.replace("<v Guest>", "<v Andrej Karpathy>", 2).replace("<v Guest>", "<v Fan>")
    meta = {
        "id": "talk",
        "host": {"name": "Stephanie Zhan"},
        "guest": {"name": "Andrej Karpathy (卡帕西)"},
        "speakers": {"andrej karpathy": "guest", "SZ": "host"},
    }
    transcript = load_transcript(write(tmp_path, "talk.vtt", text, meta))
    assert [(t.role, t.speaker) for t in transcript.turns] == [
        ("host", "Stephanie Zhan"),  # the host's name (case-insensitive)
        ("guest", "Andrej Karpathy (卡帕西)"),  # the speakers table, shown by the meta name
        ("host", "Stephanie Zhan"),
        ("unknown", "Fan"),  # a voice nobody mapped: named, but never made the guest
    ]


def test_voice_tags_win_over_the_turn_table_and_span_to_the_next_voice(tmp_path: Path) -> None:
    text = VOICES.replace("<v Guest>Details", "Details")  # untagged: still the guest
    meta = {"id": "talk", "turns": [{"start": 0, "speaker": "guest"}]}
    transcript = load_transcript(write(tmp_path, "talk.vtt", text, meta))
    assert [t.role for t in transcript.turns] == ["host", "guest", "host", "guest"]


def test_a_cue_with_two_voices_becomes_two_cues() -> None:
    cues = parse_vtt(
        "WEBVTT\n\n00:01.000 --> 00:03.000\n<v Host>Ready?\n<v Guest>Yes.\n", "x.vtt"
    )
    assert [(c.voice, c.text) for c in cues] == [("Host", "Ready?"), ("Guest", "Yes.")]
    assert {(c.start, c.end) for c in cues} == {(1.0, 3.0)}


# ------------------------------------------------------------------------- labels


SRT_LABELS = """\
1
00:00:01,000 --> 00:00:03,000
Q: 你觉得规模重要吗?

2
00:00:03,000 --> 00:00:06,000
卡帕西: 规模是第一位的。

3
00:00:06,000 --> 00:00:08,000
数据也很重要。

4
00:00:09,000 --> 00:00:10,000
Q: 谢谢你。

5
00:00:10,000 --> 00:00:12,000
卡帕西:不客气。注意: 这是最后一句。
"""


def test_q_labels_open_host_turns_and_become_questions_only_when_asked(tmp_path: Path) -> None:
    meta = {"id": "talk", "guest": {"name": "卡帕西", "labels": ["卡帕西"]}}
    transcript = load_transcript(write(tmp_path, "talk.srt", SRT_LABELS, meta))
    assert roles_and_texts(transcript) == [
        ("host", "你觉得规模重要吗?"),
        ("guest", "规模是第一位的。数据也很重要。"),
        ("host", "谢谢你。"),
        ("guest", "不客气。注意: 这是最后一句。"),  # 注意 is not a speaker label
    ]
    assert [t.question for t in transcript.turns] == [
        "你觉得规模重要吗?", "你觉得规模重要吗?", "", "",
    ]
    assert transcript.passages[-1].question == ""  # "谢谢你。" answered nothing


def test_topics_never_show_an_empty_question(tmp_path: Path) -> None:
    meta = {"id": "talk", "guest": {"name": "卡帕西", "labels": ["卡帕西"]}}
    write(tmp_path, "talk.srt", SRT_LABELS, meta)
    library = Library.load(tmp_path, use_cache=False)
    [topic] = library.topics()
    questions = [q.short for s in topic.sections for q in s.questions]
    assert questions == ["你觉得规模重要吗?"]
    listing = render_topics(library.topics())
    assert all(line.strip() not in ("-", "- []") for line in listing.splitlines())


def test_no_speaker_information_still_means_unknown(tmp_path: Path) -> None:
    transcript = load_transcript(write(tmp_path, "talk.srt", SRT_LABELS.replace("Q: ", "")))
    assert {t.role for t in transcript.turns} == {"unknown"}  # 卡帕西 is not a known label
    toc = table_of_contents(transcript, list)
    assert not any(q.short == "" for s in toc.sections for q in s.questions)


def test_a_bad_speakers_table_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "talk.vtt", VOICES)
    (tmp_path / "talk.meta.json").write_text('{\n "id": "t",\n "speakers": {"A": "boss"}\n}')
    with pytest.raises(TranscriptError, match=r"talk\.meta\.json:3: speakers\.A: expected one of"):
        load_transcript(path)


# ------------------------------------------------------------------------- joining


def cue(start: float, text: str) -> Cue:
    return Cue(start, start + 1, text, int(start) + 1)


@pytest.mark.parametrize(
    ("pieces", "joined"),
    [
        (["这样更有效率,", "但是也更难。"], "这样更有效率,但是也更难。"),
        (["这样更有效率,", "但是也更难。", "对吧?"], "这样更有效率,但是也更难。对吧?"),
        (["規模が", "一番大事です。"], "規模が一番大事です。"),
        (["スケールは", "とても重要です。"], "スケールはとても重要です。"),
        (["我们用了 GPU", "集群。"], "我们用了 GPU 集群。"),
        (["Scale matters,", "data too."], "Scale matters, data too."),
    ],
)
def test_chinese_and_japanese_cues_join_without_spaces(pieces, joined) -> None:
    cues = [cue(i, text) for i, text in enumerate(pieces)]
    [passage] = merge_into_passages(cues, None, min_sentences=1, max_sentences=9)
    assert passage.text == joined


def test_lines_within_one_chinese_cue_join_without_spaces() -> None:
    [only] = parse_vtt("WEBVTT\n\n00:01.000 --> 00:03.000\n更有效率,\n但是更难。\n", "x.vtt")
    assert only.text == "更有效率,但是更难。"
