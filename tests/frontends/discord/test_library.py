"""A library of several interviews on Discord: /ask interview:, /topics, /reload.

The data dir is a temporary copy of the bundled interview plus a short second interview
written here (its own metadata, id and title), served by the real discord.py client against
the fake Discord API. /reload tests change files in a per-test copy of that dir.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from bot.frontends.discord import limits
from bot.frontends.i18n import translations
from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.fake_discord import EPHEMERAL, buttons_of, command_problems
from tests.paths import copy_bundled

pytestmark = pytest.mark.asyncio  # harmless under asyncio_mode = "auto"

ADMIN = fd.MEMBER_PERMISSIONS | fd.MANAGE_GUILD
RELOAD_TIMEOUT = 60.0  # a reload re-indexes in a worker thread; generous, not a speed test

BEES_ID = "beekeeper-2023"
BEES_TITLE = "养蜂人的一年 — 城市养蜂人林蜂农访谈"
BEES_URL = "https://www.youtube.com/watch?v=beekeeper01"
BEES = """养蜂人的一年:一位城市养蜂人的访谈
本文整理自一次简短的访谈。
城市里的蜂箱
Q:你为什么在屋顶上养蜜蜂?
林蜂农:屋顶上没有人打扰,蜜蜂可以安静地采蜜。城市里的花园和行道树开花时间不同,蜜源反而比乡下更稳定。
Q:邻居们怎么看?
林蜂农:一开始他们担心被蛰,后来我每年秋天送他们一罐椴树蜜,大家就都支持了。
蜂群怎么分工
Q:一个蜂群是怎么管理的?
林蜂农:蜂群里没有人开会。我也讨厌开会,蜜蜂从来不开会,每只工蜂都知道自己该做什么:年轻的清理巢房,年长的出去采蜜。
冬天与蜂群
Q:冬天蜂群怎么过冬?
林蜂农:蜜蜂会抱成一团取暖,靠振动翅膀的肌肉发热。我只要保证蜂箱里留够蜂蜜,再给蜂箱挡住北风就行。
"""
BEES_META = {
    "id": BEES_ID,
    "title": BEES_TITLE,
    "language": "zh",
    "format": "article",
    "host": {"name": "记者", "labels": ["Q"]},
    "guest": {"name": "林蜂农", "labels": ["林蜂农"]},
    "video_url": BEES_URL,
    "turn_starts": [10, 25, 40, 55, 70, 84, 95, 110],
}

TEA_ID = "tea-farmer-2022"
TEA_TITLE = "山里的茶 — 茶农陈老伯访谈"
TEA = """山里的茶
做茶的手艺
Q:普洱茶为什么要发酵?
陈老伯:发酵让茶叶里的苦涩慢慢变成醇厚的甜味,渥堆四十五天,每天都要翻堆看温度。
"""
TEA_META = {
    "id": TEA_ID,
    "title": TEA_TITLE,
    "host": {"name": "记者", "labels": ["Q"]},
    "guest": {"name": "陈老伯", "labels": ["陈老伯"]},
    "format": "article",
}

# Line 4 opens a guest turn with no words: the parser names this file and line.
BROKEN = """一段介绍。
第一部分
Q:你好吗?
王:
"""
BROKEN_META = {"id": "broken", "host": {"labels": ["Q"]}, "guest": {"labels": ["王"]}}


def write_transcript(folder: Path, name: str, text: str, meta: dict) -> None:
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    (folder / f"{name}.meta.json").write_text(json.dumps(meta, ensure_ascii=False))


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = copy_bundled(tmp_path_factory.mktemp("two-interviews"))
    write_transcript(folder, "beekeeper-2023.zh", BEES, BEES_META)
    return folder


@pytest.fixture(scope="module")
def library(library_dir: Path):
    """Overrides the conftest fixture: ``make_bot`` serves both interviews. Loading also
    writes the index cache into the dir, so copies of it reload quickly while unchanged."""
    from bot.library import Library

    return Library.load(library_dir)


@pytest.fixture
def data_dir(library_dir: Path, tmp_path: Path) -> Path:
    """This test's own copy of the data dir (with its index cache), free to change."""
    target = tmp_path / "data"
    shutil.copytree(library_dir, target)
    return target


@pytest.fixture
def bot_config(bot_config, data_dir: Path):
    """Overrides the conftest fixture: /reload reads this test's data dir."""
    return replace(bot_config, data_dir=data_dir)


def karpathy_title(library) -> str:
    return next(t.title for t in library.transcripts if t.id != BEES_ID)


async def ask(fake, bot, question, **options):
    return await fake.interact(bot, fd.command("ask", {"question": question, **options}))


async def reload(fake, bot, *, permissions=ADMIN, guild=True) -> tuple[dict, dict | None]:
    """The /reload callback and, when it deferred, the follow-up that carries the outcome."""
    payload = fd.command("reload", permissions=permissions, guild=guild, user_id=900)
    callback = await fake.interact(bot, payload)
    if callback["type"] != fd.CALLBACK_DEFER_MESSAGE:
        return callback, None
    token = payload["token"]
    await fake.wait_for(lambda: fake.followups.get(token), timeout=RELOAD_TIMEOUT)
    [followup] = fake.followups[token]
    return callback, followup


def fields_of(embed: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields") or []}


# ---- /ask interview: ------------------------------------------------------------------------


async def test_interview_autocomplete_offers_every_interview_by_id(
    make_bot, fake_discord, library
):
    bot = await make_bot()
    body = await fake_discord.interact(
        bot, fd.command("ask", {"question": "", "interview": ""}, focused="interview")
    )
    assert body["type"] == fd.CALLBACK_AUTOCOMPLETE
    choices = {c["value"]: c["name"] for c in body["data"]["choices"]}
    assert choices == {
        t.id: limits.truncate(t.title, limits.CHOICE_NAME) for t in library.transcripts
    }
    assert choices[BEES_ID] == BEES_TITLE

    typed = await fake_discord.interact(
        bot, fd.command("ask", {"question": "", "interview": "养蜂"}, focused="interview")
    )
    assert [c["value"] for c in typed["data"]["choices"]] == [BEES_ID]


async def test_ask_restricted_to_one_interview_quotes_only_it_and_names_it(
    make_bot, fake_discord, library
):
    bot = await make_bot()
    question = "蜂群怎么管理"
    everywhere = await ask(fake_discord, bot, question, results=3)
    interviews = {fields_of(e)["Interview"] for e in everywhere["data"]["embeds"]}
    assert karpathy_title(library) in interviews  # unrestricted, the other interview competes

    body = await ask(fake_discord, bot, question, results=3, interview=BEES_ID)
    data = body["data"]
    assert not (data.get("flags") or 0) & EPHEMERAL
    assert BEES_TITLE in data["content"]
    assert data["embeds"]
    bees_passages = {p.text for p in library.transcript(BEES_ID).passages}
    for embed in data["embeds"]:
        fields = fields_of(embed)
        assert fields["Interview"] == BEES_TITLE
        assert embed["author"]["name"] == "林蜂农"
        assert any(text[:8] in embed["description"].replace("**", "") for text in bees_passages)
        assert fields["Video"].startswith("[▶ 01:")
        assert f"]({BEES_URL}&t=" in fields["Video"]


async def test_more_button_stays_within_the_chosen_interview(make_bot, fake_discord):
    bot = await make_bot()
    await ask(fake_discord, bot, "蜂群怎么管理", results=1, interview=BEES_ID, user_id=111)
    message = fake_discord.message_of(max(fake_discord.callbacks))
    paged = await fake_discord.interact(
        bot, fd.button(message, buttons_of(message)["More"], user_id=111)
    )
    assert paged["type"] == fd.CALLBACK_UPDATE_MESSAGE
    [embed] = paged["data"]["embeds"]
    assert fields_of(embed)["Interview"] == BEES_TITLE
    assert embed["footer"]["text"] == "Result 2"


async def test_unknown_interview_is_refused_with_the_list(make_bot, fake_discord, library):
    bot = await make_bot()
    body = await ask(fake_discord, bot, "蜂群怎么管理", interview="no-such-talk")
    assert body["data"]["flags"] & EPHEMERAL
    content = body["data"]["content"]
    assert "no interview called “no-such-talk”" in content
    for transcript in library.transcripts:
        assert transcript.title[:10] in content


async def test_every_hit_names_its_interview(make_bot, fake_discord, library):
    bot = await make_bot()
    body = await ask(fake_discord, bot, "马斯克怎么管理团队", results=2)
    for embed in body["data"]["embeds"]:
        assert fields_of(embed)["Interview"] == karpathy_title(library)


# ---- /topics ---------------------------------------------------------------------------------


async def test_topics_lists_the_interviews_then_their_sections(make_bot, fake_discord, library):
    bot = await make_bot()
    body = await fake_discord.interact(bot, fd.command("topics"))
    data = body["data"]
    assert "2 interviews" in data["content"]
    assert BEES_TITLE in data["content"]
    assert karpathy_title(library)[:20] in data["content"]
    assert [e["title"] for e in data["embeds"]] == [t.title for t in library.topics()]
    for embed, topic in zip(data["embeds"], library.topics(), strict=True):
        for section in topic.sections:
            assert section.title in embed["description"]


async def test_section_autocomplete_covers_every_interview_and_resolves(
    make_bot, fake_discord, library
):
    bot = await make_bot()
    body = await fake_discord.interact(
        bot, fd.command("topics", {"section": ""}, focused="section")
    )
    choices = body["data"]["choices"]
    assert len(choices) == sum(len(t.sections) for t in library.topics())
    assert any(c["name"].startswith(BEES_TITLE[:10]) and "冬天与蜂群" in c["name"]
               for c in choices)
    assert all(len(c["value"]) <= limits.CHOICE_VALUE for c in choices)

    typed = await fake_discord.interact(
        bot, fd.command("topics", {"section": "冬天"}, focused="section")
    )
    [winter] = typed["data"]["choices"]
    shown = await fake_discord.interact(bot, fd.command("topics", {"section": winter["value"]}))
    [embed] = shown["data"]["embeds"]
    assert embed["title"] == "冬天与蜂群"
    assert embed["author"]["name"] == BEES_TITLE
    assert "冬天蜂群怎么过冬" in embed["fields"][0]["name"]


# ---- /reload ---------------------------------------------------------------------------------


async def test_reload_is_refused_without_manage_server_and_in_dms(
    make_bot, fake_discord, data_dir, library
):
    bot = await make_bot()
    write_transcript(data_dir, "tea-farmer-2022.zh", TEA, TEA_META)
    body, followup = await reload(fake_discord, bot, permissions=fd.MEMBER_PERMISSIONS)
    assert followup is None
    assert body["data"]["flags"] & EPHEMERAL
    assert "Manage Server" in body["data"]["content"]
    in_dm, _ = await reload(fake_discord, bot, guild=False)
    assert in_dm["data"]["flags"] & EPHEMERAL
    assert "only works in a server" in in_dm["data"]["content"]
    assert bot.library is library
    assert {t.id for t in bot.library.transcripts} == {t.id for t in library.transcripts}


async def test_reload_picks_up_new_files_while_answers_in_flight_keep_theirs(
    make_bot, fake_discord, data_dir, library
):
    bot = await make_bot(cooldown_rate=100)
    await ask(fake_discord, bot, "蜂群怎么管理", results=1, interview=BEES_ID, user_id=111)
    earlier = fake_discord.message_of(max(fake_discord.callbacks))
    before = await ask(fake_discord, bot, "普洱茶为什么要发酵")
    assert not before["data"].get("embeds")
    assert "None of the 2 interviews covers" in before["data"]["content"]

    write_transcript(data_dir, "tea-farmer-2022.zh", TEA, TEA_META)
    for name in ("beekeeper-2023.zh.txt", "beekeeper-2023.zh.meta.json"):
        (data_dir / name).unlink()
    callback, followup = await reload(fake_discord, bot)
    assert callback["data"]["flags"] & EPHEMERAL
    assert followup["flags"] & EPHEMERAL
    here = f"Reloaded on this process (pid {os.getpid()} on {socket.gethostname()}): 2 interviews"
    assert here in followup["content"]
    assert TEA_TITLE in followup["content"] and BEES_TITLE not in followup["content"]
    assert {t.id for t in bot.library.transcripts} == {TEA_ID, "karpathy-sequoia-2024"}
    assert bot.quotes.library.current is bot.library  # the quote service follows the swap

    body = await ask(fake_discord, bot, "普洱茶为什么要发酵")
    [embed] = body["data"]["embeds"]
    assert "发酵" in embed["description"]
    assert fields_of(embed)["Interview"] == TEA_TITLE
    saved = await bot.quotes.add(fd.GUILD_ID, 1, "someone", "渥堆四十五天")
    assert saved.status == "added"
    gone = await ask(fake_discord, bot, "蜂群怎么管理", interview=BEES_ID)
    assert "no interview called" in gone["data"]["content"]

    # The answer given before the reload pages on through the library it came from.
    paged = await fake_discord.interact(
        bot, fd.button(earlier, buttons_of(earlier)["More"], user_id=111)
    )
    assert fields_of(paged["data"]["embeds"][0])["Interview"] == BEES_TITLE


async def test_reload_with_a_broken_file_names_it_and_keeps_the_old_library(
    make_bot, fake_discord, data_dir, library
):
    bot = await make_bot()
    write_transcript(data_dir, "broken.zh", BROKEN, BROKEN_META)
    _, followup = await reload(fake_discord, bot)
    assert followup["flags"] & EPHEMERAL
    content = followup["content"]
    assert "Reload failed, nothing changed" in content
    assert "broken.zh.txt:4:" in content and "speaker label with no text" in content
    assert str(data_dir) not in content  # the file is named, the host's folders are not
    assert "2 interviews" in content
    assert bot.library is library
    body = await ask(fake_discord, bot, "蜂群怎么管理", interview=BEES_ID)
    assert fields_of(body["data"]["embeds"][0])["Interview"] == BEES_TITLE


async def test_reload_says_which_process_and_shards_it_reloaded(make_bot, fake_discord):
    """With several processes serving one bot, /reload reaches one of them: it says which."""
    bot = await make_bot(shard_count=4, shard_ids=(1, 3))
    assert bot.shard_count == 4 and bot.shard_ids == [1, 3]
    _, followup = await reload(fake_discord, bot)
    assert followup["content"].startswith(
        f"Reloaded on this process (shards 1,3 of 4; pid {os.getpid()} on {socket.gethostname()}):"
    )


# ---- registration ----------------------------------------------------------------------------


async def test_synced_commands_follow_the_rules_and_reload_is_for_server_managers(
    make_bot, fake_discord
):
    bot = await make_bot()
    await bot.tree.sync()
    [put] = [r for r in fake_discord.requests if r.method == "PUT"]
    assert command_problems(put.json) == []
    by_name = {c["name"]: c for c in put.json}
    ask_options = by_name["ask"]["options"]
    assert [o["name"] for o in ask_options] == ["question", "results", "interview"]
    assert ask_options[2]["autocomplete"] is True and not ask_options[2].get("required")
    reload_command = by_name["reload"]
    assert int(reload_command["default_member_permissions"]) == fd.MANAGE_GUILD
    assert reload_command["contexts"] == [0]
    assert reload_command["dm_permission"] is False


# ---- limits with a big library (pure rendering, no network) ---------------------------------


def big_library_topics(interviews: int = 12, sections: int = 30):
    """Many interviews with absurdly long titles, ids and section names."""
    from bot.topics import TopicQuestion, TopicSection, TopicTranscript

    question = TopicQuestion("问?" * 50, "问?" * 200, 61.0, "https://example.com/v?t=61s", "答。")
    return [
        TopicTranscript(
            id=f"talk-{n}-" + "x" * (120 if n == 0 else 20),
            title=f"第{n}场访谈 " + "很长的标题_*" * 40,
            video_url="https://example.com/v",
            guest="嘉宾 " * 30,
            sections=[
                TopicSection(f"第{n}场 · 第{s}节 " + "章节名" * 30, ["关键词" * 5] * 6, 3,
                             [question] * 3)
                for s in range(sections)
            ],
        )
        for n in range(interviews)
    ]


async def test_a_big_library_fits_one_topics_message():
    from bot.frontends.discord import render

    topics = big_library_topics()
    english = translations("en-US")
    content = render.interviews_text(english, topics)
    embeds = [e.to_dict() for e in render.library_embeds(english, topics)]
    assert len(content) <= limits.CONTENT
    assert "12 interviews" in content and "first 10" in content and "more" in content
    assert len(embeds) == limits.EMBEDS_PER_MESSAGE
    assert fd.message_problems({"content": content, "embeds": embeds}, fd.CALLBACK_MESSAGE) == []
    assert all("more sections" in e["description"] for e in embeds)


async def test_section_choices_of_a_big_library_fit_and_resolve():
    from bot.frontends.discord import render
    from bot.topics import find_section

    topics = big_library_topics()
    choices = render.section_choices(topics, "")
    assert len(choices) == limits.CHOICES
    assert all(len(c.name) <= 100 and len(c.value) <= 100 for c in choices)
    for choice in render.section_choices(topics, "第3场 · 第1"):  # matches sections 1, 10-19
        topic, section = find_section(topics, choice.value)
        assert topic.id.startswith("talk-3-") and section.title.startswith("第3场 · 第1")
    # An id too long for a choice value falls back to the (cut) section title, still resolvable.
    first = render.section_choices(topics, "第0场 · 第7节")
    [only] = first
    assert find_section(topics, only.value)[1] is topics[0].sections[7]
