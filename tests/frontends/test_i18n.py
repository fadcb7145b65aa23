"""The gettext catalogs: complete, consistent with the code, and chosen by locale."""

from __future__ import annotations

import re
from pathlib import Path

import opencc
import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from bot.frontends import i18n
from bot.model import Message
from tests.paths import REPO as ROOT

LOCALES_DIR = ROOT / "bot" / "locales"
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def catalog(locale: str):
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as po:
        return read_po(po, locale=locale)


def messages(locale: str):
    return [m for m in catalog(locale) if m.id]


def ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, list | tuple) else (message.id,)


def strings(message) -> tuple[str, ...]:
    return (
        tuple(message.string)
        if isinstance(message.string, list | tuple)
        else (message.string,)
    )


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, ...]]:
    """The message ids in the code today, by ``pybabel extract`` with the project's config."""
    pot = tmp_path_factory.mktemp("pot") / "quotebot.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(ROOT / "pyproject.toml"), "-o", str(pot),
         str(ROOT)]
    )
    with pot.open("rb") as handle:
        return {ids(m) for m in read_po(handle) if m.id}


def test_extraction_finds_the_messages_of_every_layer(extracted):
    found = {i[0] for i in extracted}
    assert "ask" in found  # a Discord command name (locale_str)
    assert "The quote is empty: give the exact words you want to save." in found  # core, N_
    assert len(extracted) > 200


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_in_the_code_is_in_every_catalog(locale, extracted):
    """A string wrapped in code but not in a catalog (or a stale catalog entry) fails here:
    run pybabel extract/update as the README says."""
    in_catalog = {ids(m) for m in messages(locale)}
    assert sorted(extracted - in_catalog) == []
    assert sorted(in_catalog - extracted) == []


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_is_translated_with_the_same_placeholders(locale):
    problems = []
    for message in messages(locale):
        wanted = {p for msgid in ids(message) for p in PLACEHOLDER.findall(msgid)}
        for string in strings(message):
            if not string or not string.strip():
                problems.append(f"untranslated: {message.id!r}")
            elif set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {message.id!r} -> {string!r}")
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
    assert problems == []


def test_chinese_catalogs_are_chinese_and_in_their_own_script():
    to_traditional = opencc.OpenCC("s2tw")
    to_simplified = opencc.OpenCC("t2s")
    simplified = {ids(m): strings(m) for m in messages(i18n.SIMPLIFIED)}
    for message in messages(i18n.TRADITIONAL):
        for string in strings(message):
            assert to_traditional.convert(string) == string, string
        for string in simplified[ids(message)]:
            assert to_simplified.convert(string) == string, string
            assert re.search(r"[\u4e00-\u9fff]", string), string


def test_the_placeholder_check_can_fail(tmp_path: Path):
    message = next(m for m in messages(i18n.SIMPLIFIED) if "{limit}" in m.id)
    assert set(PLACEHOLDER.findall(message.string)) >= {"limit"}
    assert set(PLACEHOLDER.findall(message.string.replace("{limit}", "{limt}"))) != {"limit"}


@pytest.mark.parametrize(
    ("tag", "catalog_name"),
    [
        ("zh-CN", "zh_CN"),
        ("zh_CN.UTF-8", "zh_CN"),
        ("zh_SG", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-TW", "zh_TW"),
        ("zh_TW.UTF-8", "zh_TW"),
        ("zh_HK.UTF-8", "zh_TW"),
        ("zh-Hant", "zh_TW"),
        ("en-US", "en_US"),
        ("en-GB", "en_US"),
        ("en", "en_US"),
        ("fr", None),
        ("C", "en_US"),  # Babel: en_US_POSIX
        ("not a locale", None),
        ("", None),
    ],
)
def test_locale_tags_resolve_to_a_catalog(tag, catalog_name):
    assert i18n.resolve(tag) == catalog_name


def test_negotiation_takes_the_first_known_language_then_english():
    assert i18n.negotiate("fr", "zh-TW") == "zh_TW"
    assert i18n.negotiate(None, "ja") == "en_US"
    assert i18n.discord_locale("ko", "zh-CN") == "zh_CN"
    assert i18n.discord_locale("en-GB", "zh-CN") == "en_US"


def test_environment_language_follows_gettext_order(monkeypatch):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert i18n.environment_locale() == "en_US"
    monkeypatch.setenv("LANG", "zh_TW.UTF-8")
    assert i18n.environment_locale() == "zh_TW"
    monkeypatch.setenv("LC_MESSAGES", "zh_CN.UTF-8")
    assert i18n.environment_locale() == "zh_CN"
    monkeypatch.setenv("LC_ALL", "C")
    assert i18n.environment_locale() == "en_US"


def test_core_messages_and_command_names_render_in_the_readers_language():
    message = Message(
        "The search is too long; use at most {limit} characters.", {"limit": 100}
    )
    assert str(message) == "The search is too long; use at most 100 characters."
    assert "100" in i18n.text(i18n.translations("zh-CN"), message)
    assert "搜索" in i18n.text(i18n.translations("zh-CN"), message)
    assert i18n.command(i18n.translations("zh-TW"), "quote add") == "/語錄 儲存"
    assert i18n.command(i18n.translations("en"), "quote add") == "/quote add"
