"""/ask, /topics and /help end to end: real discord.py against the fake Discord API."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.frontends.discord import limits
from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.fake_discord import EPHEMERAL, buttons_of

pytestmark = pytest.mark.asyncio  # harmless under asyncio_mode = "auto"

QUESTION = "马斯克怎么管理团队"
YOUTUBE = "https://www.youtube.com/watch?v=c3b-JASoPi0"


async def ask(fake, bot, question=QUESTION, **kw):
    options = {"question": question}
    if "results" in kw:
        options["results"] = kw.pop("results")
    return await fake.interact(bot, fd.command("ask", options, **kw))


async def test_ask_answers_with_the_speakers_words_and_where_they_said_it(make_bot, fake_discord):
    bot = await make_bot()
    body = await ask(fake_discord, bot)
    assert body["type"] == fd.CALLBACK_MESSAGE
    data = body["data"]
    assert not (data.get("flags") or 0) & EPHEMERAL
    assert QUESTION in data["content"]
    [embed] = data["embeds"]
    assert embed["author"]["name"].startswith("Andrej Karpathy")
    # matched words in bold; side-by-side matches are one run (**马斯克管理**), never ****
    assert re.search(r"\*\*[^*]*(团队|管理)[^*]*\*\*", embed["description"])
    assert "****" not in embed["description"]
    assert embed["description"].startswith("> ")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Question"]
    assert fields["Section"]
    assert re.fullmatch(r"\[▶ \d\d:\d\d\]\(https://www\.youtube\.com/watch\?v=c3b-JASoPi0&t=\d+s\)",
                        fields["Video"])
    assert set(buttons_of(fake_discord.message_of(int(_last_id(fake_discord))))) == {
        "More", "Save quote"}
    assert data["allowed_mentions"] == {"parse": []}


def _last_id(fake):
    return max(fake.callbacks)


async def test_results_option_gives_one_embed_per_hit(make_bot, fake_discord):
    bot = await make_bot()
    body = await ask(fake_discord, bot, results=3)
    embeds = body["data"]["embeds"]
    assert len(embeds) == 3
    assert [e["footer"]["text"] for e in embeds] == ["Result 1", "Result 2", "Result 3"]
    labels = set(buttons_of(fake_discord.message_of(_last_id(fake_discord))))
    assert labels == {"More", "Save quote 1", "Save quote 2", "Save quote 3"}


async def test_question_not_covered_says_so_and_suggests_topics(make_bot, fake_discord, library):
    bot = await make_bot()
    body = await ask(fake_discord, bot, "量子计算机的冰箱温度是多少开尔文")
    data = body["data"]
    assert "doesn't cover" in data["content"]
    assert not data.get("embeds")
    suggestions = library.ask("量子计算机的冰箱温度是多少开尔文").suggestions
    assert 2 <= len(suggestions) <= 3
    for title in suggestions:
        assert title.split()[0] in data["content"]
    assert "/topics" in data["content"]


async def test_ask_works_in_dms(make_bot, fake_discord):
    bot = await make_bot()
    body = await ask(fake_discord, bot, guild=False, user_id=555)
    assert body["data"]["embeds"]


async def test_question_of_500_chars_is_answered_and_501_refused(make_bot, fake_discord):
    bot = await make_bot()
    long_question = (QUESTION * 100)[:500]
    body = await ask(fake_discord, bot, long_question)
    assert body["type"] == fd.CALLBACK_MESSAGE
    assert len(body["data"]["content"]) <= limits.CONTENT
    assert body["data"]["embeds"]
    refused = await ask(fake_discord, bot, long_question + "!", user_id=112)
    assert refused["data"]["flags"] & EPHEMERAL
    assert "501 characters" in refused["data"]["content"]


async def test_absurd_inputs_get_a_polite_ephemeral_answer(make_bot, fake_discord):
    bot = await make_bot(cooldown_rate=100)
    for question in ["x" * 20000, "\x00\x01\x02", "   ", "**" * 250, "`" * 500]:
        body = await ask(fake_discord, bot, question)
        assert body["type"] == fd.CALLBACK_MESSAGE
        assert body["data"].get("content")
        assert len(body["data"]["content"]) <= limits.CONTENT
    for results in (0, 6, -3, 10**12):
        body = await ask(fake_discord, bot, results=results)
        assert body["data"]["flags"] & EPHEMERAL
        assert "between 1 and 5" in body["data"]["content"]


async def test_mentions_in_a_question_ping_nobody(make_bot, fake_discord):
    bot = await make_bot()
    body = await ask(fake_discord, bot, "@everyone @here <@123> <@&456> 马斯克怎么管理团队")
    data = body["data"]
    assert "<@123>" in data["content"] and "@everyone" in data["content"]
    assert data["allowed_mentions"] == {"parse": []}


async def test_cooldown_refuses_the_fourth_question_within_ten_seconds(make_bot, fake_discord):
    bot = await make_bot()
    bodies = [await ask(fake_discord, bot, user_id=777) for _ in range(4)]
    assert all(not (b["data"].get("flags") or 0) & EPHEMERAL for b in bodies[:3])
    assert bodies[3]["data"]["flags"] & EPHEMERAL
    assert "wait" in bodies[3]["data"]["content"]
    other = await ask(fake_discord, bot, user_id=778)  # the cooldown is per user
    assert other["data"]["embeds"]


async def test_each_bot_keeps_its_own_cooldowns(make_bot, fake_discord):
    """The rate comes from each bot's config: a second bot in the same process starts with
    fresh buckets and its own rate (the check is attached per instance, not per class)."""
    first = await make_bot()
    bodies = [await ask(fake_discord, first, user_id=779) for _ in range(4)]
    assert bodies[3]["data"]["flags"] & EPHEMERAL
    second = await make_bot(cooldown_rate=5)
    again = [await ask(fake_discord, second, user_id=779) for _ in range(5)]
    assert all(not (b["data"].get("flags") or 0) & EPHEMERAL for b in again)


# ---- buttons ---------------------------------------------------------------------------------


async def test_more_pages_forward_for_the_asker_only(make_bot, fake_discord):
    bot = await make_bot()
    first = await ask(fake_discord, bot, results=2, user_id=111)
    interaction_id = _last_id(fake_discord)
    message = fake_discord.message_of(interaction_id)
    more = buttons_of(message)["More"]

    refused = await fake_discord.interact(bot, fd.button(message, more, user_id=222))
    assert refused["type"] == fd.CALLBACK_MESSAGE
    assert refused["data"]["flags"] & EPHEMERAL
    assert "Only the person who asked" in refused["data"]["content"]

    paged = await fake_discord.interact(bot, fd.button(message, more, user_id=111))
    assert paged["type"] == fd.CALLBACK_UPDATE_MESSAGE
    footers = [e["footer"]["text"] for e in paged["data"]["embeds"]]
    assert footers == ["Result 3", "Result 4"]
    first_quotes = {e["description"] for e in first["data"]["embeds"]}
    assert first_quotes.isdisjoint(e["description"] for e in paged["data"]["embeds"])


async def test_save_quote_button_saves_the_passage_for_whoever_clicks(make_bot, fake_discord):
    bot = await make_bot()
    await ask(fake_discord, bot, user_id=111)
    message = fake_discord.message_of(_last_id(fake_discord))
    save = buttons_of(message)["Save quote"]

    saved = await fake_discord.interact(bot, fd.button(message, save, user_id=222))
    assert saved["data"]["flags"] & EPHEMERAL
    assert "Saved as quote **#1**" in saved["data"]["content"]
    again = await fake_discord.interact(bot, fd.button(message, save, user_id=333))
    assert "already saved as **#1**" in again["data"]["content"]

    [quote] = (await bot.quotes.list_page(fd.GUILD_ID)).quotes
    assert quote.saved_by == 222
    assert quote.speaker.startswith("Andrej Karpathy")


async def test_a_short_paragraph_is_shown_and_saved_with_the_next(make_bot, fake_discord):
    # "我认为规模绝对是第一位的。" is one line: the paragraph after it in the turn comes along,
    # as a line of the same blockquote, and Save keeps both, verified across the break.
    bot = await make_bot()
    body = await ask(fake_discord, bot, "规模重要吗?")
    [embed] = body["data"]["embeds"]
    lines = embed["description"].split("\n")
    assert lines[0].startswith("> 我认为") and lines[0].endswith("第一位的。")
    assert len(lines) == 2 and lines[1].startswith("> 其中有一些细节")
    message = fake_discord.message_of(_last_id(fake_discord))
    saved = await fake_discord.interact(bot, fd.button(message, buttons_of(message)["Save quote"]))
    assert "Saved as quote **#1**" in saved["data"]["content"]
    [quote] = (await bot.quotes.list_page(fd.GUILD_ID)).quotes
    assert quote.text.startswith("我认为规模绝对是第一位的。\n其中有一些细节")


async def test_buttons_are_disabled_when_they_expire(make_bot, fake_discord):
    bot = await make_bot(button_timeout=0.2)
    await ask(fake_discord, bot)
    token = f"tok-{_last_id(fake_discord)}"
    await fake_discord.wait_for(lambda: fake_discord.edits.get(token), timeout=5)
    [edit] = fake_discord.edits[token]
    buttons = [b for row in edit["components"] for b in row["components"]]
    assert buttons and all(b["disabled"] for b in buttons)
    # A click on the expired message is no longer handled by the bot.
    message = fake_discord.message_of(_last_id(fake_discord))
    click = fd.button(message, buttons[0]["custom_id"])
    fake_discord.deliver(bot, click)
    await asyncio.sleep(0.1)
    assert fake_discord.replies(int(click["id"])) == []


# ---- topics and help ---------------------------------------------------------------------------


async def test_topics_lists_sections_with_questions_and_keywords(make_bot, fake_discord, library):
    bot = await make_bot()
    body = await fake_discord.interact(bot, fd.command("topics"))
    [embed] = body["data"]["embeds"]
    [topic] = library.topics()
    names = [f["name"] for f in embed["fields"]]
    assert names[: len(topic.sections)] == [s.title for s in topic.sections][: len(names)]
    first = topic.sections[0]
    assert first.questions[0].short[:10] in embed["fields"][0]["value"]
    assert first.keywords[0] in embed["fields"][0]["value"]


async def test_topics_section_shows_its_questions_and_first_answer_lines(
    make_bot, fake_discord, library
):
    bot = await make_bot()
    [topic] = library.topics()
    section = next(s for s in topic.sections if s.questions)
    body = await fake_discord.interact(bot, fd.command("topics", {"section": section.title}))
    [embed] = body["data"]["embeds"]
    assert embed["title"] == section.title or section.title.startswith(embed["title"][:10])
    assert len(embed["fields"]) == min(len(section.questions), 25)
    assert section.questions[0].first_answer_line[:10] in embed["fields"][0]["value"]


async def test_unknown_section_is_refused_with_the_list(make_bot, fake_discord, library):
    bot = await make_bot()
    body = await fake_discord.interact(bot, fd.command("topics", {"section": "烹饪技巧"}))
    assert body["data"]["flags"] & EPHEMERAL
    assert "no section called" in body["data"]["content"]
    assert library.topics()[0].sections[0].title.split()[0] in body["data"]["content"]


@pytest.mark.parametrize("number", ["²", "٣", "9" * 400, "-1", "1.0"])
async def test_a_section_key_with_a_strange_number_is_refused_not_a_traceback(
    make_bot, fake_discord, library, number
):
    """``str.isdigit`` takes ``²`` and ``٣`` (``int`` then raises); 400 digits are no
    section number. Each is an unknown section, answered in one line."""
    bot = await make_bot()
    key = f"{library.topics()[0].id}#{number}"
    body = await fake_discord.interact(bot, fd.command("topics", {"section": key}))
    assert body["data"]["flags"] & EPHEMERAL
    assert "no section called" in body["data"]["content"]


async def test_section_autocomplete_offers_matching_titles_within_limits(
    make_bot, fake_discord, library
):
    bot = await make_bot()
    titles = [s.title for s in library.topics()[0].sections]
    body = await fake_discord.interact(
        bot, fd.command("topics", {"section": ""}, focused="section")
    )
    assert body["type"] == fd.CALLBACK_AUTOCOMPLETE
    choices = body["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert [c["name"] for c in choices] == [limits.truncate(t, 100) for t in titles][:25]
    word = titles[-1][:2]
    body = await fake_discord.interact(
        bot, fd.command("topics", {"section": word}, focused="section")
    )
    assert body["data"]["choices"]
    assert all(word.casefold() in c["value"].casefold() for c in body["data"]["choices"])


async def test_help_lists_every_command(make_bot, fake_discord):
    bot = await make_bot()
    body = await fake_discord.interact(bot, fd.command("help", guild=False))
    assert body["data"]["flags"] & EPHEMERAL
    text = str(body["data"]["embeds"])
    for command in ("/ask", "/topics", "/quote add", "/quote list", "/quote random",
                    "/quote show", "/quote search", "/quote remove", "/help"):
        assert command in text
