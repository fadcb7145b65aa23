"""The /quote group end to end, per server, with real SQLite (and, for the whole lifecycle,
PostgreSQL) behind it."""

from __future__ import annotations

import logging

import pytest

from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.fake_discord import EPHEMERAL, MANAGE_MESSAGES, MEMBER_PERMISSIONS

pytestmark = pytest.mark.asyncio  # harmless under asyncio_mode = "auto"

SMALL_TEAM = "保持一支实力强劲、技术过硬的小团队"
HIRING = "我必须恳求他允许我招人"
OWNER, OTHER, MODERATOR = 111, 222, 333


async def quote(fake, bot, sub, options=None, **kw):
    return await fake.interact(bot, fd.command("quote", options or {}, sub=sub, **kw))


def ephemeral(body) -> bool:
    return bool((body["data"].get("flags") or 0) & EPHEMERAL)


async def test_quote_lifecycle(make_bot, fake_discord, backend):
    bot = await make_bot(store=backend)

    empty = await quote(fake_discord, bot, "list")
    assert ephemeral(empty) and "No quotes saved" in empty["data"]["content"]

    added = await quote(fake_discord, bot, "add", {"text": SMALL_TEAM}, user_id=OWNER)
    assert not ephemeral(added)
    assert "Saved as quote **#1**" in added["data"]["content"]
    assert SMALL_TEAM in added["data"]["embeds"][0]["description"]

    # Typed in traditional script with different punctuation: still the same words.
    dup = await quote(fake_discord, bot, "add", {"text": "保持一支實力強勁,技術過硬的小團隊"},
                      user_id=OTHER)
    assert ephemeral(dup) and "already saved as **#1**" in dup["data"]["content"]

    invented = "马斯克每天都开很长的会议讨论团队规模"
    refused = await quote(fake_discord, bot, "add", {"text": invented}, user_id=OWNER)
    assert ephemeral(refused)
    assert "couldn't find those exact words" in refused["data"]["content"]
    assert "closest passage" in refused["data"]["content"]

    second = await quote(fake_discord, bot, "add", {"text": HIRING}, user_id=OTHER)
    assert "quote **#2**" in second["data"]["content"]

    listing = await quote(fake_discord, bot, "list")
    [embed] = listing["data"]["embeds"]
    description = embed["description"]
    assert description.index("**#2**") < description.index("**#1**")  # newest first
    assert "saved by user111" in description and "saved by user222" in description
    # Each quote links to the moment its own paragraph is said, not to its turn's start (16:10).
    assert "[▶ 17:10](https://www.youtube.com/watch?v=c3b-JASoPi0&t=1030s)" in description
    assert "[▶ 16:44](https://www.youtube.com/watch?v=c3b-JASoPi0&t=1004s)" in description
    assert "<t:" in description and ":R>" in description
    assert "page 1 of 1" in embed["title"]

    shown = await quote(fake_discord, bot, "show", {"number": 1})
    assert SMALL_TEAM in shown["data"]["embeds"][0]["description"]
    # The saved quote links to the moment its paragraph is said (17:10 in the Musk answer,
    # which starts at 16:10).
    video = {f["name"]: f["value"] for f in shown["data"]["embeds"][0]["fields"]}["Video"]
    assert video == "[▶ 17:10](https://www.youtube.com/watch?v=c3b-JASoPi0&t=1030s)"
    missing = await quote(fake_discord, bot, "show", {"number": 99})
    assert ephemeral(missing) and "no quote #99" in missing["data"]["content"]

    found = await quote(fake_discord, bot, "search", {"text": "招人"})
    assert "**#2**" in found["data"]["embeds"][0]["description"]
    assert "**#1**" not in found["data"]["embeds"][0]["description"]
    nothing = await quote(fake_discord, bot, "search", {"text": "巧克力工厂"})
    assert ephemeral(nothing) and "No saved quote contains" in nothing["data"]["content"]

    random = await quote(fake_discord, bot, "random")
    assert random["data"]["embeds"][0]["title"] in {"Quote #1", "Quote #2"}

    # Remove: refused for another member, allowed for a moderator and for the saver.
    denied = await quote(fake_discord, bot, "remove", {"number": 1}, user_id=OTHER)
    assert ephemeral(denied) and "Manage Messages" in denied["data"]["content"]
    assert await bot.quotes.show(fd.GUILD_ID, 1) is not None
    by_mod = await quote(fake_discord, bot, "remove", {"number": 1}, user_id=MODERATOR,
                         permissions=MEMBER_PERMISSIONS | MANAGE_MESSAGES)
    assert by_mod["data"]["content"] == "Removed quote #1."
    by_owner = await quote(fake_discord, bot, "remove", {"number": 2}, user_id=OTHER)
    assert by_owner["data"]["content"] == "Removed quote #2."
    gone = await quote(fake_discord, bot, "remove", {"number": 2}, user_id=OTHER)
    assert ephemeral(gone) and "no quote #2" in gone["data"]["content"]
    assert await bot.quotes.count(fd.GUILD_ID) == 0


async def test_a_quote_across_a_paragraph_break_lists_on_one_line(make_bot, fake_discord):
    bot = await make_bot()
    across = "如果不算 Greg 的公寓的话。我们在那里待了大概两年"  # two paragraphs of one turn
    added = await quote(fake_discord, bot, "add", {"text": across}, user_id=OWNER)
    assert "Saved as quote **#1**" in added["data"]["content"]
    lines = added["data"]["embeds"][0]["description"].split("\n")
    assert lines[:2] == ["> 如果不算 Greg 的公寓的话。", "> 我们在那里待了大概两年"]
    listing = await quote(fake_discord, bot, "list")
    [embed] = listing["data"]["embeds"]
    assert "“如果不算 Greg 的公寓的话。 我们在那里待了大概两年”" in embed["description"]


async def test_quotes_are_per_server_and_dms_share_collection_zero(make_bot, fake_discord):
    bot = await make_bot()
    await quote(fake_discord, bot, "add", {"text": SMALL_TEAM}, guild=False, user_id=OWNER)
    assert await bot.quotes.count(0) == 1
    assert await bot.quotes.count(fd.GUILD_ID) == 0
    in_dm = await quote(fake_discord, bot, "show", {"number": 1}, guild=False, user_id=OTHER)
    assert SMALL_TEAM in in_dm["data"]["embeds"][0]["description"]
    in_guild = await quote(fake_discord, bot, "show", {"number": 1})
    assert ephemeral(in_guild)
    # In a DM nobody has Manage Messages: only the saver may remove.
    denied = await quote(fake_discord, bot, "remove", {"number": 1}, guild=False, user_id=OTHER)
    assert ephemeral(denied)
    removed = await quote(fake_discord, bot, "remove", {"number": 1}, guild=False, user_id=OWNER)
    assert removed["data"]["content"] == "Removed quote #1."


async def test_bad_quote_inputs_are_refused_and_change_nothing(make_bot, fake_discord):
    bot = await make_bot(cooldown_rate=100)
    for text in ["x" * 501, "。。。!!!", "@everyone", "字" * 20000]:
        body = await quote(fake_discord, bot, "add", {"text": text})
        assert ephemeral(body), text
    for number in (0, -5, 10**15, 2**63 + 5):
        body = await quote(fake_discord, bot, "show", {"number": number})
        assert ephemeral(body) and "no quote" in body["data"]["content"]
        body = await quote(fake_discord, bot, "remove", {"number": number})
        assert ephemeral(body)
    body = await quote(fake_discord, bot, "search", {"text": "字" * 600})
    assert ephemeral(body)
    body = await quote(fake_discord, bot, "list", {"page": 10**9})
    assert ephemeral(body)
    assert await bot.quotes.count(fd.GUILD_ID) == 0


async def test_quote_add_has_a_per_user_cooldown(make_bot, fake_discord):
    bot = await make_bot(cooldown_rate=2)
    bodies = [await quote(fake_discord, bot, "add", {"text": SMALL_TEAM}) for _ in range(3)]
    assert "wait" in bodies[2]["data"]["content"] and ephemeral(bodies[2])


async def test_mentions_inside_a_saved_quote_ping_nobody(make_bot, fake_discord, library):
    bot = await make_bot()
    await quote(fake_discord, bot, "add", {"text": SMALL_TEAM})
    body = await quote(fake_discord, bot, "search", {"text": "<@123> @everyone"})
    assert body["data"]["allowed_mentions"] == {"parse": []}
    assert "<@123>" in body["data"]["content"]


async def test_internal_failure_is_logged_and_still_answered(make_bot, fake_discord, caplog):
    bot = await make_bot()
    await bot.quotes.store.close()  # a real failure: the database is gone
    with caplog.at_level(logging.ERROR, logger="bot.frontends.discord.client"):
        body = await quote(fake_discord, bot, "list")
    assert ephemeral(body)
    assert "something went wrong on our side" in body["data"]["content"]
    [record] = [r for r in caplog.records if r.name == "bot.frontends.discord.client"]
    assert record.exc_info is not None
    assert "/quote list failed" in record.getMessage()


async def test_stale_command_is_answered_with_an_explanation(make_bot, fake_discord):
    bot = await make_bot()
    body = await fake_discord.interact(bot, fd.command("frobnicate"))
    assert ephemeral(body) and "quotebot sync" in body["data"]["content"]
    body = await fake_discord.interact(bot, fd.command("quote", {}, sub="frobnicate"))
    assert ephemeral(body)
