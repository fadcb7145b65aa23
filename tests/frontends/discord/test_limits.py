"""The trimming helpers that keep every message inside Discord's limits."""

from __future__ import annotations

import discord
import pytest

from bot.frontends.discord import limits
from tests.frontends.discord.fake_discord import embed_problems, embed_total


@pytest.mark.parametrize("limit", [1, 2, 10, 100, 2000])
def test_truncate_never_exceeds_the_limit_and_marks_the_cut(limit):
    text = "字" * (limit + 5)
    cut = limits.truncate(text, limit)
    assert len(cut) <= limit
    assert cut.endswith(limits.ELLIPSIS)


def test_truncate_leaves_short_text_alone():
    assert limits.truncate("exactly", 7) == "exactly"
    assert limits.truncate("", 5) == ""
    assert limits.truncate(None, 5) == ""
    assert limits.truncate("abc", 0) == ""


def test_truncate_does_not_leave_bold_open_or_an_escape_dangling():
    cut = limits.truncate("aa **bold words that go on and on** tail", 14)
    assert cut.count("**") % 2 == 0
    assert len(cut) <= 14
    assert not limits.truncate("abcdefgh\\xyz", 10).removesuffix(limits.ELLIPSIS).endswith("\\")
    assert not limits.truncate("abcdefg*xyz", 9).removesuffix(limits.ELLIPSIS).endswith("*")


def _huge_embed(fields: int = 40) -> discord.Embed:
    embed = discord.Embed(title="T" * 1000, description="D" * 10000)
    embed.set_author(name="A" * 1000)
    embed.set_footer(text="F" * 5000)
    for i in range(fields):
        embed.add_field(name=f"name {i} " + "N" * 500, value="V" * 3000)
    return embed


def test_fit_embed_respects_every_part_and_the_total():
    data = limits.fit_embed(_huge_embed()).to_dict()
    assert embed_problems(data) == []
    assert embed_total(data) <= limits.EMBED_TOTAL
    assert len(data["fields"]) <= limits.EMBED_FIELDS
    assert data["description"].endswith(limits.ELLIPSIS)


def test_fit_embeds_shares_the_total_between_embeds_of_one_message():
    embeds = [limits.fit_embed(_huge_embed(3)) for _ in range(12)]
    fitted = [e.to_dict() for e in limits.fit_embeds(embeds)]
    assert len(fitted) == limits.EMBEDS_PER_MESSAGE
    assert sum(embed_total(e) for e in fitted) <= limits.EMBED_TOTAL
    assert all(embed_problems(e) == [] for e in fitted)


def test_fit_embed_keeps_a_small_embed_unchanged():
    embed = discord.Embed(title="Quote #1", description="> 小团队")
    embed.add_field(name="Section", value="马斯克")
    assert limits.fit_embed(embed).to_dict() == embed.to_dict()


def test_fit_embed_fills_emptied_field_parts_because_discord_refuses_empty_ones():
    embed = discord.Embed(title="x")
    embed.add_field(name="", value="")
    data = limits.fit_embed(embed).to_dict()
    assert embed_problems(data) == []


def test_fit_choices_caps_count_and_lengths():
    choices = limits.fit_choices([("名" * 150, "v" * 150) for _ in range(40)])
    assert len(choices) == limits.CHOICES
    assert all(len(c.name) <= 100 and len(c.value) <= 100 for c in choices)
    assert limits.fit_choices([("", "x")])[0].name  # Discord refuses an empty name


def test_fit_content():
    assert len(limits.fit_content("x" * 5000)) == limits.CONTENT
    assert limits.too_long("x" * 501) and not limits.too_long("x" * 500)
