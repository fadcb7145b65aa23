"""The quote service over a real store of each kind (SQLite, PostgreSQL), with a small stand-in
verifier and with the real library."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import pytest

from bot.model import GUEST, HOST, Passage
from bot.quotes.backend import QuoteBackend
from bot.quotes.service import MAX_QUOTE_CHARS, QuoteService
from bot.text.normalize import normalize

# --- a tiny verifier over model passages ------------------------------------------------------


@dataclass
class Match:
    found: bool
    passage: Passage | None
    key: str
    quote_text: str
    suggestion: Passage | None


def _folded_chars(text: str) -> list[tuple[int, str]]:
    """(index in ``text``, folded character) for every letter/digit: the comparison alphabet."""
    out = []
    for index, ch in enumerate(text):
        for folded in normalize(ch):
            if unicodedata.category(folded)[0] in "LN":
                out.append((index, folded))
    return out


class TinyLibrary:
    """Finds typed words in guest passages ignoring script, width, case and punctuation.

    Implements the same ``find_quote`` contract as ``bot.library.Library`` on hand-made
    passages, so the service is tested before (and independently of) the real index.
    """

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages

    def find_quote(self, text: str) -> Match:
        wanted = "".join(ch for _, ch in _folded_chars(text))
        for passage in self.passages:
            chars = _folded_chars(passage.text)
            haystack = "".join(ch for _, ch in chars)
            at = haystack.find(wanted) if wanted else -1
            if passage.role == GUEST and at >= 0:
                start, end = chars[at][0], chars[at + len(wanted) - 1][0] + 1
                return Match(True, passage, wanted, passage.text[start:end], None)
        overlap = [
            (len(set(wanted) & set(normalize(p.text))), p) for p in self.passages if p.role == GUEST
        ]
        best = max(overlap, key=lambda pair: pair[0], default=(0, None))
        suggestion = best[1] if best[0] else None
        return Match(False, None, wanted, "", suggestion)


def passage(index: int, text: str, role: str = GUEST) -> Passage:
    return Passage(
        id=f"t#{index}",
        transcript_id="t",
        index=index,
        text=text,
        role=role,
        speaker="Andrej Karpathy" if role == GUEST else "Stephanie Zhan",
        section="马斯克的管理之道",
        turn=index,
        question="马斯克怎么管理团队?",
        video_url="https://www.youtube.com/watch?v=c3b-JASoPi0",
        start=60.0 * index,
    )


PASSAGES = [
    passage(0, "Q:马斯克是怎样管理公司的?", role=HOST),
    passage(1, "为了招募员工,我不得不做很多努力。我必须恳求他允许我招人。"),
    passage(2, "我喜欢把它比作一个作業系統。CPU 就是语言模型本身。"),
    passage(3, "马斯克非常讨厌开会,总是鼓励大家离开没有价值的会议。"),
]

ALICE, BOB, MOD = 101, 202, 303


@pytest.fixture
def service(backend: QuoteBackend) -> QuoteService:
    return QuoteService(TinyLibrary(PASSAGES), backend)


# --- add -------------------------------------------------------------------------------------


async def test_add_saves_the_transcripts_words_not_the_typing(service: QuoteService) -> None:
    result = await service.add(1, ALICE, "alice", "  我必须恳求他允许我招人  ")
    assert result.status == "added"
    quote = result.quote
    assert quote is not None and quote.number == 1
    assert quote.text == "我必须恳求他允许我招人"
    assert (quote.speaker, quote.section, quote.passage_id) == (
        "Andrej Karpathy",
        "马斯克的管理之道",
        "t#1",
    )
    assert quote.link.endswith("t=60s")
    assert (quote.saved_by, quote.saved_by_name) == (ALICE, "alice")
    assert result.passage == PASSAGES[1]


async def test_add_traditional_typing_stores_transcript_span(service: QuoteService) -> None:
    result = await service.add(1, ALICE, "alice", "我必須懇求他允許我招人")
    assert result.status == "added"
    assert result.quote is not None and result.quote.text == "我必须恳求他允许我招人"


async def test_same_words_again_is_a_duplicate(service: QuoteService) -> None:
    first = await service.add(1, ALICE, "alice", "我必须恳求他允许我招人")
    again = await service.add(1, BOB, "bob", "我必须恳求他允许我招人!")
    assert again.status == "duplicate"
    assert again.quote == first.quote
    assert await service.count(1) == 1


async def test_words_not_said_are_refused_with_a_suggestion(service: QuoteService) -> None:
    result = await service.add(1, ALICE, "alice", "马斯克喜欢开会")
    assert result.status == "not_found"
    assert result.quote is None
    assert result.suggestion == PASSAGES[3]
    assert await service.count(1) == 0


async def test_host_words_are_not_a_guest_quote(service: QuoteService) -> None:
    assert (await service.add(1, ALICE, "alice", "马斯克是怎样管理公司的")).status == "not_found"
    assert await service.count(1) == 0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("?!。,……", "punctuation"),
        ("我", "too short"),
        ("招" * (MAX_QUOTE_CHARS + 1), str(MAX_QUOTE_CHARS)),
    ],
)
async def test_invalid_input_is_explained_and_saves_nothing(
    service: QuoteService, text: str, reason: str
) -> None:
    result = await service.add(1, ALICE, "alice", text)
    assert result.status == "invalid"
    assert reason in str(result.message)
    assert await service.count(1) == 0


# --- browse ----------------------------------------------------------------------------------


async def test_list_page_is_newest_first_and_clamped(service: QuoteService) -> None:
    for text in ("我必须恳求他允许我招人", "CPU 就是语言模型本身", "非常讨厌开会"):
        assert (await service.add(1, ALICE, "alice", text)).status == "added"
    page = await service.list_page(1, 1, per_page=2)
    assert [q.number for q in page.quotes] == [3, 2]
    assert (page.page, page.pages, page.total) == (1, 2, 3)
    last = await service.list_page(1, 99, per_page=2)
    assert (last.page, [q.number for q in last.quotes]) == (2, [1])
    assert (await service.list_page(1, -5, per_page=2)).page == 1


async def test_empty_collection_has_one_empty_page(service: QuoteService) -> None:
    page = await service.list_page(1)
    assert (page.quotes, page.page, page.pages, page.total) == ((), 1, 1, 0)
    assert await service.random(1) is None


async def test_show_and_random(service: QuoteService) -> None:
    added = (await service.add(1, ALICE, "alice", "非常讨厌开会")).quote
    assert await service.show(1, 1) == added
    assert await service.show(1, 2) is None
    assert await service.show(1, 0) is None
    assert await service.random(1) == added


async def test_search_matches_typed_traditional_and_punctuated_forms(service: QuoteService) -> None:
    await service.add(1, ALICE, "alice", "我喜欢把它比作一个作業系統")
    await service.add(1, ALICE, "alice", "非常讨厌开会")
    assert [q.number for q in (await service.search(1, "作業系統")).quotes] == [1]
    assert [q.number for q in (await service.search(1, "讨厌")).quotes] == [2]
    assert [q.number for q in (await service.search(1, "討厭開會")).quotes] == [2]
    assert (await service.search(1, "招人")).quotes == ()
    assert "words" in str((await service.search(1, "  ")).message)
    assert (await service.search(1, "x" * 500)).message


async def test_guilds_do_not_see_each_other(service: QuoteService) -> None:
    await service.add(1, ALICE, "alice", "非常讨厌开会")
    other = await service.add(2, BOB, "bob", "非常讨厌开会")
    assert other.status == "added"  # not a duplicate of another server's quote
    await service.add(1, ALICE, "alice", "我必须恳求他允许我招人")
    assert await service.show(2, 2) is None
    assert (await service.search(2, "招人")).quotes == ()
    assert (await service.list_page(2)).total == 1


# --- remove ----------------------------------------------------------------------------------


async def test_saver_may_remove_own_quote(service: QuoteService) -> None:
    await service.add(1, ALICE, "alice", "非常讨厌开会")
    result = await service.remove(1, 1, ALICE, can_manage=False)
    assert result.status == "removed"
    assert result.quote is not None and result.quote.text == "非常讨厌开会"
    assert await service.show(1, 1) is None


async def test_other_member_is_refused_and_nothing_changes(service: QuoteService) -> None:
    added = (await service.add(1, ALICE, "alice", "非常讨厌开会")).quote
    result = await service.remove(1, 1, BOB, can_manage=False)
    assert result.status == "forbidden"
    assert result.quote == added
    assert await service.show(1, 1) == added


async def test_moderator_may_remove_anyones_quote(
    service: QuoteService, backend: QuoteBackend
) -> None:
    await service.add(1, ALICE, "alice", "非常讨厌开会")
    assert (await service.remove(1, 1, MOD, can_manage=True)).status == "removed"
    assert (await service.remove(1, 1, MOD, can_manage=True)).status == "not_found"
    assert (await service.add(1, ALICE, "alice", "我必须恳求他允许我招人")).quote.number == 2
    assert await backend.count(1) == 1


async def test_remove_in_another_guild_is_not_found(service: QuoteService) -> None:
    await service.add(1, ALICE, "alice", "非常讨厌开会")
    assert (await service.remove(2, 1, ALICE, can_manage=True)).status == "not_found"
    assert await service.show(1, 1) is not None


# --- with the real bundled library -----------------------------------------------------------


@pytest.fixture
def real_service(library, backend: QuoteBackend) -> QuoteService:
    """The session's real library (its index lives in the session's temp dir, never in data/)."""
    return QuoteService(library, backend)


async def test_real_quote_is_saved_with_its_speaker(real_service: QuoteService) -> None:
    result = await real_service.add(1, ALICE, "alice", "我必须恳求他允许我招人")
    assert result.status == "added"
    assert result.quote is not None
    assert "Karpathy" in result.quote.speaker
    assert "我必须恳求他允许我招人" in result.quote.text
    assert (await real_service.add(1, BOB, "bob", "我必须恳求他允许我招人。")).status == "duplicate"


async def test_real_traditional_typing_is_found(real_service: QuoteService) -> None:
    result = await real_service.add(1, ALICE, "alice", "我必須懇求他允許我招人")
    assert result.status == "added"
    assert result.quote is not None and "我必须恳求他允许我招人" in result.quote.text


async def test_real_words_never_said_are_refused_with_a_suggestion(
    real_service: QuoteService,
) -> None:
    result = await real_service.add(1, ALICE, "alice", "马斯克喜欢开会")
    assert result.status == "not_found"
    assert result.suggestion is not None
    assert await real_service.count(1) == 0


async def test_real_editor_introduction_is_not_a_guest_quote(real_service: QuoteService) -> None:
    said_by_the_editor = "马斯克称得上是个魔鬼老板这事儿,已经出了名了"
    result = await real_service.add(1, ALICE, "alice", said_by_the_editor)
    assert result.status == "not_found"
    assert await real_service.count(1) == 0
