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
