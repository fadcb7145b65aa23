"""One normalisation for passages and questions alike, so the same words compare equal.

1. Unicode NFKC and case folding (full-width ``GPU`` and ``gpu`` are one token),
2. OpenCC Taiwan-phrase → mainland simplified (``作業系統`` → ``操作系统``, ``硬體`` → ``硬件``),
   because the bundled article itself mixes Taiwan vocabulary into simplified text.

Tokenising is `bot.text.chinese` (jieba) and `bot.text.english` (stems); both start here.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import opencc

# OpenCC's mainland→Taiwan converters once turned 领域 into 領網域; some articles were
# converted that way and back, leaving 领网域 in otherwise simplified text.
CONVERSION_ARTEFACTS = {"领网域": "领域"}

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SEGMENT_RE = re.compile(f"{CJK_RE.pattern}|.", re.DOTALL)  # `normalize_with_map`'s pieces
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_RE = re.compile(r"[A-Za-z]")


# Characters that NFKC changes on their own, in the blocks this text is made of (Latin-1,
# general punctuation, CJK symbols, compatibility ideographs, full-width forms): each mapped
# to its NFKC form, so `_nfkc` can replace them in one pass.
_NFKC_TABLE = {
    code: unicodedata.normalize("NFKC", chr(code))
    for start, stop in ((0xA0, 0x100), (0x2000, 0x2070), (0x3000, 0x3040), (0xF900, 0xFB00),
                        (0xFF00, 0xFFF0))
    for code in range(start, stop)
    if unicodedata.normalize("NFKC", chr(code)) != chr(code)
}


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, in a third of the time for the usual text
    (CJK with full-width punctuation).

    Replacing characters by their own NFKC forms leaves the text's compatibility
    decomposition unchanged, so when the result is already in NFKC it is the NFKC of
    ``text``; otherwise (combining marks, Hangul jamo, …) the full algorithm runs.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    mapped = text.translate(_NFKC_TABLE)
    if mapped is not text and unicodedata.is_normalized("NFKC", mapped):
        return mapped
    return unicodedata.normalize("NFKC", text)


_converter_lock = threading.Lock()
_converter: opencc.OpenCC | None = None
_simplifier: opencc.OpenCC | None = None


def _converters() -> tuple[opencc.OpenCC, opencc.OpenCC]:
    global _converter, _simplifier
    with _converter_lock:
        if _converter is None or _simplifier is None:
            _converter = opencc.OpenCC("tw2sp")
            _simplifier = opencc.OpenCC("t2s")
        return _converter, _simplifier


def normalize(text: str) -> str:
    """NFKC, case-fold, Taiwan/traditional → mainland simplified, fix known artefacts.

    Taiwan phrase rules apply only to runs of Han characters that hold traditional
    characters: run over mainland text they would also rewrite it (文件 → 文档, 程序 → 进程),
    and a question in mainland words would no longer match its own words.
    """
    text = _nfkc(text).casefold()
    to_mainland, to_simplified = _converters()
    simplified = to_simplified.convert(text)
    if simplified != text:
        def mainland(match: re.Match[str]) -> str:
            run = match.group(0)
            if to_simplified.convert(run) == run:
                return run
            return to_simplified.convert(to_mainland.convert(run))

        simplified = CJK_RE.sub(mainland, text)
    for wrong, right in CONVERSION_ARTEFACTS.items():
        simplified = simplified.replace(wrong, right)
    return simplified


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """`normalize` ``text`` and map each normalised character back to its original index.

    Highlighting matched words and checking quotes both find things in normalised text
    and must point back at the speaker's own characters.
    """
    whole = normalize(text)
    if len(whole) == len(text):
        return whole, list(range(len(text)))
    # Somewhere the length changes (领網域 → 领域, ﬁ → fi). Each run of Han characters is
    # still converted whole where its own length stays, so its phrases read as `normalize`
    # reads them (作業系統 → 操作系统, not 作业系统 character by character) whatever the rest
    # of the text holds: a quote copied from the passage must match the passage.
    chars: list[str] = []
    mapping: list[int] = []
    for segment in _SEGMENT_RE.finditer(text):  # a run of Han characters, or one other
        start, end = segment.span()
        converted = normalize(segment.group(0))
        if len(converted) == end - start:
            chars.append(converted)
            mapping.extend(range(start, end))
            continue
        for index in range(start, end):  # character by character: each maps to itself
            piece = normalize(text[index])
            chars.append(piece)
            mapping.extend([index] * len(piece))
    return "".join(chars), mapping


def script_of(text: str) -> str:
    """``"zh"`` when the text has Han characters, ``"en"`` when it is Latin only."""
    han = len(HAN_RE.findall(text))
    latin = len(LATIN_RE.findall(text))
    if han == 0 and latin > 0:
        return "en"
    return "zh"


def _letter_or_digit(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def matching_form(text: str) -> str:
    """Normalised letters and digits only: script-, width-, case-, space- and
    punctuation-insensitive, so typed words match stored ones however they were typed."""
    return "".join(ch for ch in normalize(text) if _letter_or_digit(ch))


def matching_form_with_map(text: str) -> tuple[str, list[int]]:
    """`matching_form` with each kept character mapped back to its index in ``text``
    (normalised character by character where the whole-text form changes length)."""
    normalized, positions = normalize_with_map(text)
    kept = [i for i, c in enumerate(normalized) if _letter_or_digit(c)]
    return "".join(normalized[i] for i in kept), [positions[i] for i in kept]
