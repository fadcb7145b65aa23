"""Chinese tokens for the index and for questions: jieba with the interview's terms.

Search only works if a question and a passage that say the same thing end up as the same
tokens, so both go through exactly this code: `normalize`, then jieba in search mode with a
user dictionary of the interview's names and terms (``大语言模型`` also yields ``语言`` and
``模型``; a name like ``卡帕西`` stays whole), then stop words and punctuation removed;
embedded English terms (GPU, LLM OS, SVD) are kept. English passages use `bot.text.english`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import platformdirs

from bot import cachefile
from bot.forked import start_forked
from bot.text.normalize import CJK_RE, HAN_RE, normalize

if TYPE_CHECKING:
    import rjieba


def _import_jieba():
    """Import jieba without letting it import ``pkg_resources``.

    jieba only uses pkg_resources to locate its own data files and falls back to a plain
    path when it is missing; importing it costs ~0.15 s of every `quotebot ask` (and a
    deprecation warning on current setuptools). Hidden only during this import.
    """
    if "pkg_resources" in sys.modules:
        import jieba

        return jieba
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # ImportError on import
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


jieba = _import_jieba()


def _import_rjieba() -> ModuleType | None:
    """jieba-rs: the same algorithm and dictionary, ~10x faster; only an accelerator, so
    imported on first use (its import builds its own default dictionary, 0.1-0.2 s that a
    `quotebot ask` on a cached index does not need); None when not installed."""
    try:
        import rjieba
    except ImportError:  # pragma: no cover - rjieba is optional
        return None
    return rjieba


log = logging.getLogger(__name__)

JIEBA_CACHE_FILE = "jieba.cache"
_jieba_dir: str | None = None


def jieba_cache_dir() -> str:
    """Our own folder for jieba's dictionary cache, never the shared ``$TMPDIR``.

    jieba unmarshals ``$TMPDIR/jieba.cache`` whoever wrote it, so a file planted there would
    change how every question is segmented. Ours lives in the user's cache dir (mode 0700
    when we create it); if that cannot be created, a private temporary folder is used.
    """
    global _jieba_dir
    if _jieba_dir is None:
        folder = Path(platformdirs.user_cache_dir("interview-quote-bot")) / "jieba"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not os.access(folder, os.W_OK):
                raise PermissionError(str(folder))
            _jieba_dir = str(folder)
        except OSError:
            _jieba_dir = tempfile.mkdtemp(prefix="quotebot-jieba-")
    return _jieba_dir


# Words that carry no meaning for retrieval: particles, pronouns, question words, fillers.
CHINESE_STOP_WORDS = frozenset(
    """
    的 了 着 过 是 在 和 与 及 或 而 且 就 都 也 还 又 再 才 只 很 太 更 最 非常 比较 一些 一点
    我 你 您 他 她 它 我们 你们 他们 她们 它们 自己 大家 咱们 这 那 这个 那个 这些 那些 这样 那样
    这种 那种 这里 那里 此 其 之 该 某 各 每 个 位 种 件 些 把 被 给 让 对 对于 关于 向 从 到 于
    以 为 为了 因为 所以 但 但是 然而 如果 虽然 即使 还是 或者 以及 并 并且 而且 然后 那么 吗 呢
    吧 啊 呀 哦 嗯 么 嘛 哈 啦 呗 喔 哪 哪些 哪个 哪里 什么 啥 怎么 怎样 怎么样 如何 为什么 为何
    多少 几 是否 是不是 能不能 会不会 有没有 要不要 可不可以 可以 能 能够 会 要 想 应该 需要 得
    地 有 没有 没 不 也许 可能 一 一个 一种 上 下 中 里 内 外 前 后 时 时候 当 等 等等 之类
    说 看 讲 谈 认为 觉得 问 问题 请问 一下 吗? 呢? 到底 究竟 其实 真的 真正 具体 一般 通常
    所 则 即 便 若 由 就是 都是 也是 还有 没有 不是 已经 曾经 正在 目前 现在 今后
    什么样 什么样的 怎么办 咋 咋样 多大 多久 多长 多么 哪儿 谁 何 几个 有何 如何看待 看法 态度
    只有 只是 仅仅 而已 之间 有关 方面 情况 各种 各种各样 所有 很多 许多 这么 那么 一样
    """.split()
)

# A question word fused with what it asks about: jieba keeps 多少倍, 哪些方面, 几次 whole, and
# as a word the interview never uses each would count against answering. The question word
# is framing; what follows it is the ask (倍, 方面, 次). Only compounds that are questions:
# not 多 (多模态), 几 (几乎) or 哪 (哪怕) alone.
QUESTION_WORD_PREFIX_RE = re.compile(
    "^(?:多少|哪些|哪个|哪里|哪儿|哪位|哪种|哪家|什么|怎么|怎样|多远|多久|多大|多长|多高"
    "|几(?=[个次位年倍本天种家台张块条项名]))"
)

# The A-not-A question (难不难, 喜不喜欢): the question is about A once; left in, jieba cuts
# 难不难 into 难 and 不难, a word the interview never uses. The common ones (是不是, 能不能,
# 有没有) are stop words already and stay whole (see `_asked_once`).
A_NOT_A_RE = re.compile("([\u4e00-\u9fff])[不没]((?:\\1)[\u4e00-\u9fff]?)")

TOKEN_SPLIT_RE = re.compile(
    r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:[.\-+][a-z0-9]+)*)"
)
# The Han range Python jieba segments as words (its re_han_default); jieba-rs takes a wider
# one, so a piece with any other character (㐀-䶿, 鿖-鿿, 豈-﫿) is left to jieba itself.
JIEBA_HAN_RE = re.compile(r"[\u4e00-\u9fd5]+")
# A filler word that carries the dictionary total jieba keeps beyond its words' frequencies;
# a private-use character never occurs in a CJK piece, so it can never be matched.
_TOTAL_FILLER = "\ue000"

# Transcripts write numbers in digits ("10 年", "6 个月", "50 个人"); questions often spell
# them out ("十年", "六个月"). A spelled number before a measure word becomes digits.
NUMERAL_RE = re.compile(
    r"([零〇一二两三四五六七八九十百千万]+)(?=\s*[年个月倍位瓦人次层名天周岁家件%])"
)
DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
          "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def chinese_number(text: str) -> int | None:
    """Value of a spelled-out Chinese number (十五, 二十, 一百, 两千, 三万); None if malformed."""
    total = section = digit = 0
    for char in text:
        if char in DIGITS:
            digit = DIGITS[char]
        elif char == "万":
            total += (section + digit) * 10000
            section = digit = 0
        elif char in UNITS:
            section += (digit or 1) * UNITS[char]
            digit = 0
        else:
            return None
    return total + section + digit


# "1 万个 GPU", "100 万倍": digits times a Chinese unit, written as one number.
SCALED_DIGITS_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([万亿])")
SCALES = {"万": 10_000, "亿": 100_000_000}


def _digits_for_numerals(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        spelled = match.group(1)
        if spelled == "一" or spelled[0] in "百千万":
            # 一个 is an article, not a count; a bare unit follows digits ("100 万倍").
            return spelled
        value = chinese_number(spelled)
        return spelled if value is None else f" {value} "

    def scale(match: re.Match[str]) -> str:
        value = float(match.group(1)) * SCALES[match.group(2)]
        return f" {int(value) if value.is_integer() else value} "

    return SCALED_DIGITS_RE.sub(scale, NUMERAL_RE.sub(replace, text))


@functools.lru_cache(maxsize=1)
def _jieba_dictionary() -> tuple[dict[str, int], int]:
    """jieba's own word dictionary (word → frequency, total), read once per process from our
    cache dir; callers copy it before adding their terms. It stays in memory (tens of MB)
    only in processes that build an index: a cached library brings its own slice."""
    # What jieba's initialize would load from our cache dir, read faster.
    found = _dictionary(cachefile.read(Path(jieba_cache_dir()) / JIEBA_CACHE_FILE))
    if found is not None:
        return found
    jieba.setLogLevel(logging.WARNING)  # no start-up chatter, here or in a forked reader
    reader = jieba.Tokenizer()
    reader.tmp_dir = jieba_cache_dir()
    reader.cache_file = JIEBA_CACHE_FILE
    reader.initialize()  # reads jieba's dict.txt and writes the cache
    return reader.FREQ, reader.total


_MANY_CHARACTERS = 4000  # jieba's dictionary has ~12,000 distinct characters


def _restricted(freq: dict[str, int], characters: set[str]) -> dict[str, int]:
    """The words of ``freq`` made only of ``characters``, in ``freq``'s order.

    One regex pass over all the words joined finds those with any other character (a few
    thousand of jieba's 500,000 for a big library), instead of a set test per word.
    """
    words = "\n".join(freq) if len(characters) >= _MANY_CHARACTERS else ""
    if not words or words.count("\n") != len(freq) - 1:
        # A small library (most words go) or a word with a line break: word by word.
        return {w: f for w, f in freq.items() if characters.issuperset(w)}
    kept = dict(freq)
    outside = set(words) - characters - {"\n"}
    if outside:
        others = "".join(re.escape(c) for c in sorted(outside))
        for word in re.findall(f"(?m)^[^\\n]*[{others}][^\\n]*$", words):
            del kept[word]
    return kept


def _asked_once(match: re.Match[str]) -> str:
    """难不难 → 难, 喜不喜欢 → 喜欢; a stop word such as 能不能 is left for the stop list."""
    whole = match.group(0)
    return whole if whole[:3] in CHINESE_STOP_WORDS else match.group(2)


def _with_stop_words(kept: dict[str, int], freq: Mapping[str, int]) -> dict[str, int]:
    """``kept`` plus every stop word of ``freq`` (and its prefixes, which jieba's word graph
    walks through), whatever its characters.

    A question must lose its stop words however the corpus is written: an interview that
    never uses 底 would otherwise cut 到底 ("after all") into 到 and 底, and 底 would count
    as a word the interview never mentions. Words of the corpus are not affected (its text
    has no such word)."""
    for word in sorted(CHINESE_STOP_WORDS):
        if word in freq and word not in kept:
            for end in range(1, len(word)):
                kept.setdefault(word[:end], 0)
            kept[word] = freq[word]
    return kept


def prefetch_dictionary() -> Callable[[], bool] | None:
    """When jieba has not cached its dictionary yet (a new machine), start it reading
    ``dict.txt`` into our cache dir in a forked process, so that the ~0.6 s runs beside
    whatever this process does next (parsing transcripts); the tokenizer then loads the
    cache in ~0.2 s. Returns the child's ``wait`` (call it before the first tokenizer is
    made), or None when the cache is there or forking is not safe here."""
    if _jieba_dictionary.cache_info().currsize:
        return None
    if (Path(jieba_cache_dir()) / JIEBA_CACHE_FILE).exists():
        return None
    return start_forked(_jieba_dictionary)


class ChineseTokenizer:
    """jieba with the interview's terms, isolated from jieba's global default instance.

    A private `jieba.Tokenizer` keeps user words of one library from leaking into another
    (tests build several) and lets start-up chatter be silenced once.
    """

    def __init__(
        self,
        terms: Iterable[str] = (),
        *,
        dictionary: tuple[dict[str, int], int] | None = None,
    ) -> None:
        """``dictionary`` is a saved `export_dictionary` result: when given, jieba's 500,000
        word dictionary (over a second to load) is not read at all."""
        jieba.setLogLevel(logging.WARNING)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.tmp_dir = jieba_cache_dir()
        self._jieba.cache_file = JIEBA_CACHE_FILE
        self._fast: rjieba.Jieba | None = None  # see `accelerate`
        self._memo: dict[str, list[str]] | None = None  # piece → tokens, during a build
        self.compounds: list[tuple[str, str]] = []
        self.terms = tuple(sorted({normalize(t).strip() for t in terms if t.strip()}))
        if dictionary is None:
            # A copy of the process's one read of jieba's dictionary: add_word below changes
            # this tokenizer's copy only, and a second library skips the 0.7 s read.
            base, total = _jieba_dictionary()
            dictionary = (dict(base), total)
            from_jieba = True
        else:
            from_jieba = False
        self._jieba.FREQ, self._jieba.total = dictionary
        self._jieba.initialized = True
        for term in self.terms:
            if " " in term:
                # Multi-word English terms ("llm os") become one extra token "llm_os".
                self.compounds.append((term, term.replace(" ", "_")))
            elif CJK_RE.fullmatch(term) and from_jieba:
                self._jieba.add_word(term, freq=max(self._jieba.suggest_freq(term), 2000))

    def restrict_to(self, characters: set[str]) -> None:
        """Keep only the part of jieba's dictionary made of ``characters`` (the corpus's).

        A dictionary word with any other character can never be an index token, and the
        corpus segments exactly as with the full dictionary, since its text holds no such
        word. The library restricts its tokenizer right after indexing, so that questions
        are segmented the same whether the index was just built or loaded from its cache.
        """
        self._jieba.check_initialized()
        self._fast = None
        self._memo = None
        self._jieba.FREQ = _with_stop_words(_restricted(self._jieba.FREQ, characters),
                                            self._jieba.FREQ)

    def accelerate(self) -> bool:
        """Segment bulk text with rjieba (jieba-rs) when it is installed; True if so.

        jieba-rs implements jieba's algorithm (DAG over the prefix dictionary, HMM for unknown
        words, search-mode 2/3-grams), so it is loaded with exactly this tokenizer's words and
        frequencies — custom terms included — and the same total, and yields the same tokens
        (tests compare both on the interview and on synthetic text). jieba stays the
        reference: without rjieba, or for a piece outside jieba's Han range, jieba segments.
        Costs ~0.5 s, so only an index build calls it. Also remembers each piece's tokens
        until `restrict_to` ends the build (with or without rjieba).
        """
        if self._memo is None:
            self._memo = {}
        if self._fast is None:
            rjieba = _import_rjieba()
            if rjieba is None:
                return False
            freq, total = self.dictionary
            fast = rjieba.Jieba.empty()
            add = fast.add_word
            loaded = 0
            for word, count in freq.items():
                if count:  # jieba's prefix entries (count 0) are not words
                    add(word, count, None)
                    loaded += count
            if total > loaded:
                add(_TOTAL_FILLER, total - loaded, None)
            self._fast = fast
        return True

    def _cut_for_search(self, piece: str) -> list[str]:
        if self._fast is not None and JIEBA_HAN_RE.fullmatch(piece):
            return self._fast.cut_for_search(piece, True)
        return list(self._jieba.cut_for_search(piece, HMM=True))

    def _piece_tokens(self, piece: str) -> list[str]:
        """A CJK piece's index tokens; while accelerated (a build), remembered per piece:
        a library repeats about half of its pieces (names, set phrases, whole sentences)."""
        memo = self._memo
        if memo is not None:
            found = memo.get(piece)
            if found is not None:
                return found
        found = [w for w in self._cut_for_search(piece)
                 if w not in CHINESE_STOP_WORDS and w.strip()]
        if memo is not None:
            memo[piece] = found
        return found

    @property
    def dictionary(self) -> tuple[dict[str, int], int]:
        """jieba's word frequencies and total, for the index cache (see ``dictionary=``)."""
        self._jieba.check_initialized()
        return self._jieba.FREQ, self._jieba.total

    def words(self, text: str) -> list[tuple[str, list[str]]]:
        """A question's words, each with the index tokens that match it.

        Search mode splits ``大规模`` into ``大规模, 规模, 大规``; counting those as three
        separate asks would let one long word dominate, so coverage is judged per word.
        """
        text = A_NOT_A_RE.sub(_asked_once, _digits_for_numerals(normalize(text)))
        out: list[tuple[str, list[str]]] = []
        for compound, token in self.compounds:
            if compound in text:
                out.append((token, [token]))
        for piece in TOKEN_SPLIT_RE.findall(text):
            if not CJK_RE.fullmatch(piece):
                if piece not in CHINESE_STOP_WORDS:
                    out.append((piece, [piece]))
                continue
            for word in self._jieba.cut(piece, HMM=True):
                if word not in CHINESE_STOP_WORDS:
                    word = QUESTION_WORD_PREFIX_RE.sub("", word, count=1)
                if word in CHINESE_STOP_WORDS or not word.strip():
                    continue
                grams = [g for g in self._jieba.cut_for_search(word, HMM=True)
                         if g not in CHINESE_STOP_WORDS and g.strip()]
                out.append((word, list(dict.fromkeys([word, *grams]))))
        return out

    def tokens(self, text: str, *, normalized: bool = False) -> list[str]:
        text = _digits_for_numerals(text if normalized else normalize(text))
        out: list[str] = []
        for compound, token in self.compounds:
            if compound in text:
                out.extend([token] * text.count(compound))
        memo = self._memo
        for piece in TOKEN_SPLIT_RE.findall(text):
            # A piece is one run of CJK or of ASCII letters and digits: its first character
            # tells which (a regex match per piece cost a tenth of indexing).
            if piece[0] > "\x7f":
                found = memo.get(piece) if memo is not None else None
                out.extend(self._piece_tokens(piece) if found is None else found)
            elif piece not in CHINESE_STOP_WORDS:
                out.append(piece)
        return out


_default_lock = threading.Lock()
_default: ChineseTokenizer | None = None


def default_tokenizer() -> ChineseTokenizer:
    """A tokenizer without interview terms, for callers that have no library at hand."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ChineseTokenizer()
        return _default


def tokenize(text: str) -> list[str]:
    return default_tokenizer().tokens(text)


TERMS_DICTIONARY_FORMAT = 2  # part of `dictionary_for_terms`'s cache key: bump on any change


def dictionary_for_terms(terms: Iterable[str]) -> tuple[dict[str, int], int, frozenset[str]]:
    """What `ChineseTokenizer(terms)` would hold, minus every word with a Han character that
    is not in one of ``terms`` (stop words apart): its words, total, and the Han characters
    of ``terms``.

    `ChineseTokenizer.restrict_to` keeps nothing more for a corpus whose Han characters are
    all among those (an English interview: only the general vocabulary brings any), so such
    a build need not read jieba's 500,000 words (~0.7 s). Derived once per installed jieba
    and list of Chinese terms, and kept beside jieba's own cache.
    """
    normalized = {normalize(t).strip() for t in terms}
    chinese_terms = sorted(t for t in normalized if CJK_RE.fullmatch(t))
    han = frozenset(c for term in chinese_terms for c in term)
    source = Path(jieba.__file__).with_name(jieba.DEFAULT_DICT_NAME)
    stat = source.stat()
    key = "\n".join([str(TERMS_DICTIONARY_FORMAT), jieba.__version__, str(source),
                     f"{stat.st_size}:{stat.st_mtime_ns}", *chinese_terms])
    cached = Path(jieba_cache_dir()) / (
        f"terms-{hashlib.sha256(key.encode()).hexdigest()[:16]}.marshal")
    found = _dictionary(cachefile.read(cached))
    if found is not None:
        return (*found, han)
    whole, total = ChineseTokenizer(chinese_terms).dictionary
    freq = {w: f for w, f in whole.items() if all(c in han for c in HAN_RE.findall(w))}
    freq = _with_stop_words(freq, whole)  # as `restrict_to` keeps them from the whole
    cachefile.write(cached, (freq, total), "jieba's words for the terms")
    return freq, total, han


def _dictionary(value: object) -> tuple[dict[str, int], int] | None:
    """``value`` if it is a (word → frequency, total) dictionary as jieba keeps it."""
    if (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], dict)
            and isinstance(value[1], int)):
        return value[0], value[1]
    return None
