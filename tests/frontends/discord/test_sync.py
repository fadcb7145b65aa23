"""Command registration: what the bot syncs obeys Discord's rules, globally or to one guild."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.frontends.discord.client import sync_commands_async
from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.fake_discord import command_problems

pytestmark = pytest.mark.asyncio  # harmless under asyncio_mode = "auto"

EXPECTED = {"ask", "topics", "help", "quote", "reload"}
QUOTE_SUBCOMMANDS = {"add", "list", "random", "show", "search", "remove"}


async def test_global_sync_payload_follows_discords_rules(make_bot, fake_discord):
    bot = await make_bot()
    synced = await bot.tree.sync()
    assert {c.name for c in synced} == EXPECTED
    [put] = [r for r in fake_discord.requests if r.method == "PUT"]
    assert put.path == f"/applications/{fd.APP_ID}/commands"
    payload = put.json
    assert command_problems(payload) == []
    by_name = {c["name"]: c for c in payload}
    subcommands = {o["name"] for o in by_name["quote"]["options"]}
    assert subcommands == QUOTE_SUBCOMMANDS
    ask = {o["name"]: o for o in by_name["ask"]["options"]}
    assert ask["question"]["required"] and ask["question"]["max_length"] == 500
    assert ask["results"]["min_value"] == 1 and ask["results"]["max_value"] == 5
    section = by_name["topics"]["options"][0]
    assert section["autocomplete"] is True and not section.get("required")
    # Usable in servers and in DMs with the bot.
    assert all(set(c["contexts"]) >= {0, 1} for c in payload if c["name"] != "reload")
    assert by_name["reload"]["contexts"] == [0]  # server admins only, never in DMs


async def test_rule_checker_catches_what_discord_would_refuse():
    """The checker used above must be able to fail."""
    bad = [
        {"name": "Ask", "description": "x"},
        {"name": "a" * 33, "description": "x"},
        {"name": "ok", "description": ""},
        {"name": "ok2", "description": "d" * 101},
        {
            "name": "opts",
            "description": "x",
            "options": [
                {"name": "later", "description": "x", "type": 3},
                {"name": "first", "description": "x", "type": 3, "required": True},
            ],
        },
    ]
    problems = command_problems(bad)
    assert len(problems) == 5


async def test_sync_commands_to_one_guild_logs_in_and_closes(make_bot, fake_discord, bot_config):
    config = replace(bot_config, guild_id=fd.GUILD_ID)
    bot = await make_bot(guild_id=fd.GUILD_ID)
    synced = await sync_commands_async(config, bot=bot)
    assert {c.name for c in synced} == EXPECTED
    assert set(fake_discord.commands) == {fd.GUILD_ID}
    puts = [r for r in fake_discord.requests if r.method == "PUT"]
    assert [p.path for p in puts] == [f"/applications/{fd.APP_ID}/guilds/{fd.GUILD_ID}/commands"]
    assert bot.is_closed()


async def test_sync_commands_globally_when_no_guild_is_set(make_bot, fake_discord, bot_config):
    bot = await make_bot()
    await sync_commands_async(bot_config, bot=bot)
    assert set(fake_discord.commands) == {None}
    assert bot.is_closed()


async def test_synced_commands_carry_chinese_names_and_descriptions(make_bot, fake_discord):
    """Every command, subcommand and option is localized for zh-CN and zh-TW, within
    Discord's rules for localized names and descriptions."""
    bot = await make_bot()
    await bot.tree.sync()
    [put] = [r for r in fake_discord.requests if r.method == "PUT"]
    items = []

    def walk(item: dict) -> None:
        items.append(item)
        for option in item.get("options") or []:
            walk(option)

    for command in put.json:
        walk(command)
    assert len(items) == 20  # 5 commands, 6 subcommands, 9 options
    for item in items:
        names = item.get("name_localizations") or {}
        descriptions = item.get("description_localizations") or {}
        assert set(names) == {"zh-CN", "zh-TW"}, item["name"]
        assert set(descriptions) == {"zh-CN", "zh-TW"}, item["name"]
        assert fd.localization_problems(item) == []
        for text in (*names.values(), *descriptions.values()):
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    by_name = {c["name"]: c for c in put.json}
    assert by_name["ask"]["name_localizations"] == {"zh-CN": "提问", "zh-TW": "提問"}
    # Names are unique among siblings in every language, as Discord requires.
    for locale in ("zh-CN", "zh-TW"):
        for siblings in [put.json, *(c.get("options") or [] for c in items)]:
            named = [o["name_localizations"][locale] for o in siblings
                     if o.get("name_localizations")]
            assert len(named) == len(set(named)), named


async def test_localized_name_rule_can_fail():
    assert fd.localized_name_ok("提问") and fd.localized_name_ok("quote-list_2")
    for bad in ("Ask", "two words", "a" * 33, "", "提问!", "問題?"):
        assert not fd.localized_name_ok(bad), bad
    problems = fd.localization_problems({
        "name_localizations": {"zh-CN": "Ask"},
        "description_localizations": {"xx": "d", "zh-TW": "長" * 101},
    })
    assert problems == [
        "bad zh-CN name 'Ask'",
        "description_localizations: unknown locale 'xx'",
        "zh-TW description length 101",
    ]
