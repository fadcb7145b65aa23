"""`Library` on the bundled interview: answers, refusals, quotes and the table of contents.

The library is the session's (tests/conftest.py): built once, its index cache under pytest's
temp dir, so the repository's ``data/.index`` is never written by these tests.
"""

from __future__ import annotations

import pytest

from bot.library import Library, LibraryError, QueryError, clean_query
from bot.model import GUEST, HOST
from bot.text.normalize import normalize

VIDEO_URL = "https://www.youtube.com/watch?v=c3b-JASoPi0"
GUEST_NAME = "Andrej Karpathy (卡帕西)"
MUSK_SECTION = '马斯克 " 在管理世界上最大的创业公司 "'

OUT_OF_SCOPE = [
    "今天北京天气怎么样?",
    "怎么做红烧肉?",
    "谁赢了世界杯足球赛?",
    "What is the capital of France?",
]

# Questions of every kind, including sentences only the editor's introduction contains.
VARIED_QUESTIONS = [
    "我不得不恳求他允许我招人",
    "他(马斯克)总是默认要裁掉员工",
    "马斯克称得上是个魔鬼老板",
    "痛恨开会、拒绝躺平、比起跟 VP 更喜欢直接和工程师们聊工作",
    "卡帕西还揭秘了更多马斯克管理公司的细节",
    "年轻的初创公司要如何与 OpenAI 竞争?",
    "更多细节,以下奉上文字版分享",
    "Claude 3 亦有贡献",
    "规模重要吗?",
    "LLM OS 是什么?",
    "马斯克对开会是什么态度?",
    "OpenAI 早期团队有多少人?",
    "开源模型和开放权重有什么区别?",
    "为什么现在的计算机不适合跑大模型?",
    "大脑的功耗是多少?",
    "稀疏性有什么用?",
    "什么是奇异值分解?",
    "马斯克喜欢多大的团队?",
    "GPU 不够用的时候马斯克会怎么做?",
    "黄仁勋",
    "巧克力工厂",
    "赛艇队的笑话",
    "扩散模型和自回归模型",
    "数据集的准备工作重要吗?",
    "未来十年会怎样?",
    "创业者还有机会吗?",
    "What does Karpathy think about scale?",
    "How does Elon Musk run meetings?",
    "今天北京天气怎么样?",
    "谁是中层管理?",
]


@pytest.fixture(scope="module")
def intro_sentences(library) -> list[str]:
    """The editor's introduction, line by line (long enough to be recognisable)."""
    intro = library.transcripts[0].intro
    return [line for line in intro.split("\n") if len(line) >= 8]


def test_library_holds_the_seed(library):
    (transcript,) = library.transcripts
    assert transcript.id == "karpathy-sequoia-2024"
    assert len(library.passages) == 76
    assert library.passage("karpathy-sequoia-2024/p0").role == HOST
    assert library.passage("no-such/p1") is None


def test_musk_and_meetings_is_answered_from_the_musk_section(library):
    answer = library.ask("马斯克对开会是什么态度?")
    assert answer.answered
    hit = answer.hits[0]
    assert hit.passage.role == GUEST
    assert hit.passage.section == MUSK_SECTION
    assert "会议" in hit.passage.text or "开会" in hit.passage.text


def test_hits_carry_everything_an_adapter_shows(library):
    answer = library.ask("规模重要吗?", top=3)
    for item in answer.to_json()["hits"]:
        assert set(item) >= {"id", "text", "speaker", "section", "question", "video_url",
                              "score"}
        shown = [item["id"], *item["continued_by"]]
        assert item["text"] == "\n".join(library.passage(i).text for i in shown)
        assert item["speaker"] == GUEST_NAME
        assert item["section"] == "规模是最主要决定因素"
        assert item["question"]
        assert item["video_url"].startswith(VIDEO_URL + "&t=")
        assert item["score"] > 0


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_questions_are_not_answered(library, question):
    answer = library.ask(question)
    assert not answer.answered
    assert answer.hits == ()
    assert answer.to_json() == {"query": question, "answered": False, "hits": [], "closest": []}
    assert answer.suggestions  # section titles to offer instead


def test_no_answer_ever_quotes_the_editors_introduction(library, intro_sentences):
    assert "我不得不恳求他允许我招人。" in intro_sentences
    intro_lines = {line for line in library.transcripts[0].intro.split("\n")}
    answered = 0
    for question in VARIED_QUESTIONS:
        for speaker in ("any", "guest"):
            answer = library.ask(question, top=5, speaker=speaker)
            answered += answer.answered
            for hit in answer.hits:
                assert hit.passage.text not in intro_lines, question
                assert not any(s in hit.passage.text for s in intro_sentences), question
                if speaker == "guest":
                    assert hit.passage.role == GUEST, question
    assert answered >= 30  # most of these are in scope: the check above is not vacuous


def test_speaker_any_can_return_the_hosts_own_words(library):
    question = "美国赛艇队和日本赛艇队的笑话是什么?"
    hosted = library.ask(question, speaker="any")
    assert hosted.answered
    assert hosted.hits[0].passage.role == HOST
    assert "赛艇队" in hosted.hits[0].passage.text
    for hit in library.ask(question, top=5).hits:
        assert hit.passage.role == GUEST


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("馬斯克對開會是什麼態度?", "马斯克对开会是什么态度?"),
        ("規模重要嗎?", "规模重要吗?"),
        ("大模型需要什麼樣的硬體?", "大模型需要什么样的硬件?"),
        ("開源模型和開放權重有什麼區別?", "开源模型和开放权重有什么区别?"),
    ],
)
def test_traditional_questions_get_the_same_top_hit(library, traditional, simplified):
    simple = library.ask(simplified)
    assert simple.answered
    assert library.ask(traditional).hits[0].passage.id == simple.hits[0].passage.id


def test_top_three_gives_at_most_three_distinct_hits(library):
    hits = library.ask("马斯克如何管理公司?", top=3).hits
    assert 1 <= len(hits) <= 3
    assert len({h.passage.id for h in hits}) == len(hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_offset_pages_through_the_same_ranking(library):
    first = [h.passage.id for h in library.ask("马斯克如何管理公司?", top=4).hits]
    second = [h.passage.id for h in library.ask("马斯克如何管理公司?", top=2, offset=2).hits]
    assert second == first[2:4]


@pytest.mark.parametrize("question", ["", "   \t\n ", "问" * 501, "\x00\x07\u200b"])
def test_unusable_questions_are_refused(library, question):
    with pytest.raises(QueryError) as caught:
        library.ask(question)
    assert "\n" not in str(caught.value)


def test_a_500_character_question_is_accepted(library):
    assert isinstance(library.ask("规模" * 250).answered, bool)


def test_control_characters_are_stripped(library):
    assert clean_query("马斯克\x07对开会\x1b是什么\u200b态度?\n") == "马斯克 对开会 是什么 态度?"
    noisy = library.ask("马斯克\x07对开会\x1b是什么态度?")
    assert "\x07" not in noisy.query and "\x1b" not in noisy.query
    assert noisy.hits[0].passage.id == library.ask("马斯克对开会是什么态度?").hits[0].passage.id


def test_bad_speaker_and_unknown_interview_are_refused(library):
    with pytest.raises(QueryError, match="speaker"):
        library.ask("规模重要吗?", speaker="host")
    with pytest.raises(QueryError, match="no-such-talk"):
        library.ask("规模重要吗?", interview="no-such-talk")
    assert library.ask("规模重要吗?", interview="karpathy-sequoia-2024").answered


def test_missing_or_empty_data_dir_is_a_library_error(tmp_path):
    with pytest.raises(LibraryError, match="does not exist"):
        Library.load(tmp_path / "missing", cache_dir=tmp_path / "cache")
    with pytest.raises(LibraryError, match="no transcripts"):
        Library.load(tmp_path, cache_dir=tmp_path / "cache")


def test_highlights_point_at_matched_terms(library):
    for question in ("如何调试和监督它?", "大模型需要什麼樣的硬體?", "LLM OS 是什么?"):
        hits = library.ask(question, top=3).hits
        assert hits and hits[0].highlights, question
        for hit in hits:
            # A passage found by meaning alone shares no word: nothing to highlight.
            assert bool(hit.highlights) == bool(hit.matched_terms), question
            terms = {t.replace("_", " ") for t in hit.matched_terms}
            for start, end in hit.highlights:
                assert normalize(hit.snippet[start:end]) in terms, (question, hit.snippet)


# ------------------------------------------------------------------------ topics


def test_topics_list_the_three_sections_with_questions_and_keywords(library):
    (topics,) = library.topics()
    data = topics.to_json()
    assert data["video_url"] == VIDEO_URL
    assert [s["title"] for s in data["sections"]] == [
        "大语言模型是新时代的 CPU", "规模是最主要决定因素", MUSK_SECTION,
    ]
    assert [len(s["questions"]) for s in data["sections"]] == [5, 3, 1]
    for section in data["sections"]:
        assert all(q.strip() for q in section["questions"])
        assert section["keywords"]
        assert all(link.startswith(VIDEO_URL) for link in section["links"])
    assert "规模" in " ".join(data["sections"][1]["keywords"]) + data["sections"][1]["title"]


# ------------------------------------------------------------------------ quotes


@pytest.mark.parametrize(
    "typed",
    [
        "我必须恳求他允许我招人。",
        "我必須懇求他允許我招人",  # traditional script
        "我 必须 恳求 他, 允许我招人!",  # other spacing and punctuation
        "gpu集群的负责人谈谈",
    ],
)
def test_find_quote_returns_the_transcripts_own_wording(library, typed):
    match = library.find_quote(typed)
    assert match.found
    assert match.quote_text in match.passage.text
    assert match.passage.role == GUEST
    if "gpu" in typed:
        assert match.quote_text == "GPU 集群的负责人谈谈"
    else:
        assert match.quote_text == "我必须恳求他允许我招人"
        assert match.key == "我必须恳求他允许我招人"


def test_find_quote_refuses_text_not_in_the_interview_with_a_suggestion(library):
    match = library.find_quote("规模是最重要的一切")
    assert not match.found
    assert match.passage is None and match.quote_text == ""
    assert match.suggestion is not None
    assert "规模" in match.suggestion.text


@pytest.mark.parametrize(
    "intro_only", ['马斯克称得上是个 " 魔鬼老板 " 这事儿', "我不得不恳求他允许我招人"]
)
def test_find_quote_does_not_find_the_editors_words(library, intro_only):
    assert not library.find_quote(intro_only).found


def test_find_quote_of_nothing_is_not_found(library):
    match = library.find_quote("?!。 ")
    assert not match.found and match.suggestion is None


def test_find_quote_finds_words_copied_from_a_passage_with_taiwan_vocabulary(library):
    # The passage also holds 领網域 (a conversion artefact that shortens it when normalised);
    # its 作業系統 must still compare as 操作系统, as the copied words do.
    passage = next(p for p in library.passages if "领網域" in p.text and "作業系統" in p.text)
    copied = passage.text[passage.text.index("作業系統") - 10 : passage.text.index("作業系統") + 4]
    match = library.find_quote(copied)
    assert match.found and match.passage == passage and match.quote_text == copied.strip()
