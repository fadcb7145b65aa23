"""Read-only tables of strings that processes share instead of each building its own.

A 100,000-passage library loaded as Python objects (passage texts, jieba's word
frequencies, the cross-lingual lexicon) costs every process serving it a few hundred MB of
its own memory. Stored as flat arrays and memory-mapped read-only (`load_array`), the same
data costs each process next to nothing: the pages belong to the OS file cache and every
process mapping the files shares them.

* `PackedStrings` — strings as one UTF-8 blob plus offsets; item ``i`` is decoded on demand.
* `StringIndex` — `PackedStrings` plus an open-addressing hash table (CRC-32, linear
  probing) over them: ``string → position`` in about a microsecond, every hit verified
  against the stored bytes, so a collision can never return the wrong string.
* `PackedCounts` — ``str → int`` (jieba's dictionary) on a `StringIndex`.

Files are plain ``.npy`` arrays (never pickle) named ``<stem>.<part>.npy``; whoever writes
them into the index cache seals them in its SHA-256 manifest like every other file.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import TypeVar

import numpy as np

from bot.model import Passage, Turn
from bot.search.bm25 import load_array

EMPTY = -1
R = TypeVar("R", Passage, Turn)


def _save(directory: Path, stem: str, **arrays: np.ndarray) -> None:
    for part, array in arrays.items():
        np.save(directory / f"{stem}.{part}.npy", array, allow_pickle=False)


def _load(directory: Path, stem: str, *parts: str) -> list[np.ndarray]:
    return [load_array(directory / f"{stem}.{part}.npy") for part in parts]


class PackedStrings(Sequence[str]):
    """A sequence of strings stored as one UTF-8 blob and ``n + 1`` offsets into it."""

    PARTS = ("blob", "offsets")

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise ValueError("a packed string blob must be a flat uint8 array")
        if offsets.dtype != np.int64 or offsets.ndim != 1 or len(offsets) == 0:
            raise ValueError("packed string offsets must be a non-empty int64 array")
        if offsets[0] != 0 or offsets[-1] != len(blob):
            raise ValueError("packed string offsets do not match their blob")
        self._blob_array = blob
        self._offsets_array = offsets
        # memoryviews: indexing one returns a Python int (or a slice) without numpy's
        # per-call overhead, which is most of a lookup's cost.
        self._blob = memoryview(blob).cast("B") if len(blob) else memoryview(b"")
        self._offsets = memoryview(offsets)

    @classmethod
    def pack(cls, strings: Iterable[str]) -> PackedStrings:
        encoded = [s.encode("utf-8") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)),
                  out=offsets[1:])
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        return cls(blob, offsets)

    def save(self, directory: Path, stem: str) -> None:
        _save(directory, stem, blob=self._blob_array, offsets=self._offsets_array)

    @classmethod
    def load(cls, directory: Path, stem: str) -> PackedStrings:
        return cls(*_load(directory, stem, *cls.PARTS))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def raw(self, position: int) -> memoryview:
        """The UTF-8 bytes of string ``position`` (no bounds check beyond the offsets')."""
        return self._blob[self._offsets[position] : self._offsets[position + 1]]

    def __getitem__(self, position: int) -> str:  # type: ignore[override]
        if not isinstance(position, int):
            raise TypeError("PackedStrings takes integer positions")
        count = len(self)
        if position < 0:
            position += count
        if not 0 <= position < count:
            raise IndexError(position)
        return str(self.raw(position), "utf-8")

    def __iter__(self) -> Iterator[str]:
        raw = self.raw
        for position in range(len(self)):
            yield str(raw(position), "utf-8")


def _hash(data: bytes | memoryview) -> int:
    return zlib.crc32(data)


class StringIndex:
    """Distinct strings (`PackedStrings`) with a hash table: ``position(s)`` finds one."""

    PARTS = ("slots",)

    def __init__(self, strings: PackedStrings, slots: np.ndarray) -> None:
        size = len(slots)
        if slots.dtype != np.int32 or size == 0 or size & (size - 1) or size <= len(strings):
            raise ValueError("a string index's hash table is damaged")
        self.strings = strings
        self._slots_array = slots
        self._slots = memoryview(slots)
        self._mask = size - 1

    @classmethod
    def build(cls, strings: Iterable[str]) -> StringIndex:
        """Index ``strings``, which must be distinct (a repeat would never be found)."""
        packed = strings if isinstance(strings, PackedStrings) else PackedStrings.pack(strings)
        count = len(packed)
        size = 1 << max(3, (2 * count).bit_length())  # load factor at most 1/2
        mask = size - 1
        homes = np.fromiter((_hash(packed.raw(i)) for i in range(count)), dtype=np.int64,
                            count=count)
        slots = np.full(size, EMPTY, dtype=np.int32)
        waiting = np.arange(count, dtype=np.int64)
        probe = 0
        # Linear probing, one probe step for every waiting string at a time: of the strings
        # wanting the same free slot the first takes it, the others try the next slot. A
        # string that probed k times passed k filled slots, so a lookup that stops at the
        # first empty slot still reaches it.
        while len(waiting):
            wanted = (homes[waiting] + probe) & mask
            free = slots[wanted] == EMPTY
            first = np.zeros(len(waiting), dtype=bool)
            free_at = np.flatnonzero(free)
            _, firsts = np.unique(wanted[free_at], return_index=True)
            first[free_at[firsts]] = True
            slots[wanted[first]] = waiting[first]
            waiting = waiting[~first]
            probe += 1
        return cls(packed, slots)

    def save(self, directory: Path, stem: str) -> None:
        self.strings.save(directory, f"{stem}.strings")
        _save(directory, stem, slots=self._slots_array)

    @classmethod
    def load(cls, directory: Path, stem: str) -> StringIndex:
        return cls(PackedStrings.load(directory, f"{stem}.strings"),
                   *_load(directory, stem, *cls.PARTS))

    def position(self, text: object) -> int:
        """Where ``text`` is among the strings; -1 when it is not there."""
        if not isinstance(text, str):
            return EMPTY
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate can never have been stored
            return EMPTY
        # `PackedStrings.raw` inlined: this runs for every word jieba looks up.
        slots, mask = self._slots, self._mask
        blob, offsets = self.strings._blob, self.strings._offsets
        slot = _hash(data) & mask
        while True:
            position = slots[slot]
            if position == EMPTY or blob[offsets[position] : offsets[position + 1]] == data:
                return position
            slot = (slot + 1) & mask

    def __len__(self) -> int:
        return len(self.strings)

    def __contains__(self, text: object) -> bool:
        return self.position(text) != EMPTY


V = TypeVar("V")


class _KeyedMapping(Mapping[str, V]):
    """An immutable mapping whose keys are a `StringIndex`: each value is found by its key's
    position (`_at`), so lookups, membership, length and iteration live here once."""

    _keys: StringIndex

    def _at(self, position: int) -> V:
        raise NotImplementedError

    def get(self, key: object, default: V | None = None) -> V | None:  # type: ignore[override]
        position = self._keys.position(key)
        return default if position == EMPTY else self._at(position)

    def __getitem__(self, key: str) -> V:
        position = self._keys.position(key)
        if position == EMPTY:
            raise KeyError(key)
        return self._at(position)

    def __contains__(self, key: object) -> bool:
        return self._keys.position(key) != EMPTY

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys.strings)


class PackedCounts(_KeyedMapping[int]):
    """An immutable ``str → int`` mapping on a `StringIndex` and an int64 array."""

    PARTS = ("values",)

    def __init__(self, keys: StringIndex, values: np.ndarray) -> None:
        if values.dtype != np.int64 or values.shape != (len(keys),):
            raise ValueError("packed counts do not match their keys")
        self._keys = keys
        self._values_array = values
        self._values = memoryview(values)

    @classmethod
    def build(cls, mapping: Mapping[str, int]) -> PackedCounts:
        values = np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping))
        return cls(StringIndex.build(mapping), values)

    def save(self, directory: Path, stem: str) -> None:
        self._keys.save(directory, f"{stem}.keys")
        _save(directory, stem, values=self._values_array)

    @classmethod
    def load(cls, directory: Path, stem: str) -> PackedCounts:
        return cls(StringIndex.load(directory, f"{stem}.keys"),
                   *_load(directory, stem, *cls.PARTS))

    def _at(self, position: int) -> int:
        return self._values[position]


def files(
    stem: str, kind: type[PackedStrings | StringIndex | PackedCounts | PackedLexicon]
) -> list[str]:
    """The file names `kind.save(directory, stem)` writes."""
    if kind is PackedStrings:
        return [f"{stem}.{part}.npy" for part in PackedStrings.PARTS]
    if kind is StringIndex:
        return [*files(f"{stem}.strings", PackedStrings), f"{stem}.slots.npy"]
    if kind is PackedCounts:
        return [*files(f"{stem}.keys", StringIndex), f"{stem}.values.npy"]
    return [*files(f"{stem}.words", StringIndex), *files(f"{stem}.pool", PackedStrings),
            *(f"{stem}.{part}.npy" for part in PackedLexicon.PARTS)]


# How a record field is stored (see `RecordTable`).
KEY = "key"  # a string unique to its record: a `StringIndex` finds the record
TEXT = "text"  # a string, from a pool of the table's distinct strings
NUMBER = "number"  # an int
TIME = "time"  # a float or None (NaN)
NUMBERS = "numbers"  # a tuple of ints (at most one such field)

PASSAGE_FIELDS = {
    "id": KEY, "transcript_id": TEXT, "index": NUMBER, "text": TEXT, "role": TEXT,
    "speaker": TEXT, "section": TEXT, "turn": NUMBER, "question": TEXT, "video_url": TEXT,
    "start": TIME, "line": NUMBER, "language": TEXT,
}
TURN_FIELDS = {
    "index": NUMBER, "role": TEXT, "speaker": TEXT, "section": TEXT, "line": NUMBER,
    "passage_indices": NUMBERS, "question": TEXT, "start": TIME,
}
_KINDS = {Passage: PASSAGE_FIELDS, Turn: TURN_FIELDS}


class RecordTable(Sequence[R]):
    """Named tuples (`Passage` or `Turn`) stored column by column, each record built when
    it is asked for.

    Strings sit in one pool of distinct strings (a turn's question or a section title is
    stored once) that an int32 matrix points into; a `KEY` field (a passage's id) has its
    own `StringIndex`, so ``position(key)`` finds a record. ``view(start, stop)`` is one
    transcript's records.
    """

    PARTS = ("texts", "numbers", "times", "lists", "list_offsets")

    def __init__(
        self,
        kind: type[R],
        keys: StringIndex | None,
        pool: PackedStrings,
        arrays: Mapping[str, np.ndarray],
        span: tuple[int, int] | None = None,
    ) -> None:
        fields = _KINDS[kind]
        self._kind = kind
        self._plan = tuple(fields.values())  # each field's kind, in record order
        self._of_kind = {k: [n for n, v in fields.items() if v == k]
                         for k in (KEY, TEXT, NUMBER, TIME, NUMBERS)}
        texts, numbers, times = arrays["texts"], arrays["numbers"], arrays["times"]
        lists, list_offsets = arrays["lists"], arrays["list_offsets"]
        count = len(list_offsets) - 1
        if (texts.dtype != np.int32 or texts.shape != (count, len(self._of_kind[TEXT]))
                or numbers.dtype != np.int64
                or numbers.shape != (count, len(self._of_kind[NUMBER]))
                or times.dtype != np.float64 or times.shape != (count, len(self._of_kind[TIME]))
                or lists.dtype != np.int64 or list_offsets.dtype != np.int64
                or list_offsets[0] != 0 or list_offsets[-1] != len(lists)
                or (keys is None) != (not self._of_kind[KEY])
                or (keys is not None and len(keys) != count)):
            raise ValueError(f"the {kind.__name__} table's columns do not match")
        if texts.size and (int(texts.min()) < 0 or int(texts.max()) >= len(pool)):
            raise ValueError(f"the {kind.__name__} table points outside its string pool")
        self._keys = keys
        self._pool = pool
        self._arrays = dict(arrays)
        self._first, self._stop = span if span is not None else (0, count)

    @classmethod
    def pack(cls, kind: type[R], records: Sequence[R]) -> RecordTable[R]:
        fields = _KINDS[kind]
        count = len(records)
        # Column by column (zip(*) transposes in C): ~3x faster than record by record.
        columns = dict(zip(fields, zip(*records, strict=True), strict=True)) if count else {
            name: () for name in fields}
        of_kind = {k: [columns[n] for n, v in fields.items() if v == k]
                   for k in (KEY, TEXT, NUMBER, TIME, NUMBERS)}
        # Every distinct string once, numbered (dict.fromkeys and map run in C).
        distinct = dict.fromkeys(chain.from_iterable(of_kind[TEXT]))
        pool = {text: number for number, text in enumerate(distinct)}
        code = pool.__getitem__

        def matrix(cols: list[Sequence], dtype: type) -> np.ndarray:
            out = np.empty((count, len(cols)), dtype=dtype)
            for at, col in enumerate(cols):
                out[:, at] = col
            return out

        texts = matrix([list(map(code, col)) for col in of_kind[TEXT]], np.int32)
        numbers = matrix(of_kind[NUMBER], np.int64)
        times = matrix([[np.nan if t is None else t for t in col] for col in of_kind[TIME]],
                       np.float64)
        lists_of = of_kind[NUMBERS][0] if of_kind[NUMBERS] else ((),) * count
        list_offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, lists_of), dtype=np.int64, count=count),
                  out=list_offsets[1:])
        lists = np.fromiter(chain.from_iterable(lists_of), dtype=np.int64,
                            count=int(list_offsets[-1]))
        keys = StringIndex.build(of_kind[KEY][0]) if of_kind[KEY] else None
        arrays = {"texts": texts, "numbers": numbers, "times": times, "lists": lists,
                  "list_offsets": list_offsets}
        return cls(kind, keys, PackedStrings.pack(pool), arrays)

    def save(self, directory: Path, stem: str) -> None:
        if (self._first, self._stop) != (0, len(self._arrays["list_offsets"]) - 1):
            raise ValueError("save the whole table, not a view of it")
        if self._keys is not None:
            self._keys.save(directory, f"{stem}.keys")
        self._pool.save(directory, f"{stem}.pool")
        _save(directory, stem, **self._arrays)

    @classmethod
    def load(cls, kind: type[R], directory: Path, stem: str) -> RecordTable[R]:
        keyed = any(v == KEY for v in _KINDS[kind].values())
        return cls(kind, StringIndex.load(directory, f"{stem}.keys") if keyed else None,
                   PackedStrings.load(directory, f"{stem}.pool"),
                   dict(zip(cls.PARTS, _load(directory, stem, *cls.PARTS), strict=True)))

    @staticmethod
    def files(kind: type[R], stem: str) -> list[str]:
        """The file names `save` writes."""
        keyed = any(v == KEY for v in _KINDS[kind].values())
        return [*(files(f"{stem}.keys", StringIndex) if keyed else ()),
                *files(f"{stem}.pool", PackedStrings),
                *(f"{stem}.{part}.npy" for part in RecordTable.PARTS)]

    def view(self, start: int, stop: int) -> RecordTable[R]:
        """Records ``start:stop`` of this table (positions relative to it)."""
        if not 0 <= start <= stop <= len(self):
            raise IndexError(f"{start}:{stop} is outside {len(self)} records")
        return RecordTable(self._kind, self._keys, self._pool, self._arrays,
                           (self._first + start, self._first + stop))

    def position(self, key: str) -> int:
        """Where the record whose `KEY` field is ``key`` is in this table; -1 if absent."""
        found = EMPTY if self._keys is None else self._keys.position(key)
        return found - self._first if self._first <= found < self._stop else EMPTY

    def field_is(self, name: str, value: str) -> np.ndarray:
        """Per record, whether its string field ``name`` equals ``value`` (vectorised)."""
        column = self._arrays["texts"][self._first : self._stop,
                                       self._of_kind[TEXT].index(name)]
        for code in np.unique(column).tolist():  # a handful of roles: few to decode
            if self._pool[code] == value:
                return column == code
        return np.zeros(len(column), dtype=bool)

    def numbers_of(self, name: str) -> np.ndarray:
        """Per record, its number field ``name`` (a read-only column: no record is built)."""
        return self._arrays["numbers"][self._first : self._stop,
                                       self._of_kind[NUMBER].index(name)]

    def __len__(self) -> int:
        return self._stop - self._first

    def _record(self, row: int) -> R:
        arrays = self._arrays
        blob, offsets = self._pool._blob, self._pool._offsets
        texts = [str(blob[offsets[c] : offsets[c + 1]], "utf-8")
                 for c in arrays["texts"][row].tolist()]
        columns = {
            TEXT: iter(texts),
            NUMBER: iter(arrays["numbers"][row].tolist()),
            TIME: (None if t != t else t for t in arrays["times"][row].tolist()),
        }
        if self._keys is not None:
            columns[KEY] = iter((self._keys.strings[row],))
        if self._of_kind[NUMBERS]:
            start, stop = arrays["list_offsets"][row : row + 2].tolist()
            columns[NUMBERS] = iter((tuple(arrays["lists"][start:stop].tolist()),))
        return tuple.__new__(self._kind, [next(columns[kind]) for kind in self._plan])

    def __getitem__(self, item: int | slice) -> R | tuple[R, ...]:  # type: ignore[override]
        if isinstance(item, slice):
            return tuple(self._record(self._first + i) for i in range(*item.indices(len(self))))
        count = len(self)
        if item < 0:
            item += count
        if not 0 <= item < count:
            raise IndexError(item)
        return self._record(self._first + item)

    def __iter__(self) -> Iterator[R]:
        for row in range(self._first, self._stop):
            yield self._record(row)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<{len(self)} {self._kind.__name__} records>"


class PackedLexicon(_KeyedMapping[list[tuple[str, float]]]):
    """An immutable ``word → [(target, weight), ...]`` table (`bot.text.crosslingual`'s
    lexicons and synonyms): words in a `StringIndex`, each word's pairs a run of the
    flat ``targets`` (codes into a pool of distinct targets) and ``weights`` arrays."""

    PARTS = ("offsets", "targets", "weights")

    def __init__(self, words: StringIndex, pool: PackedStrings,
                 offsets: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> None:
        if (offsets.dtype != np.int64 or offsets.shape != (len(words) + 1,)
                or offsets[0] != 0 or offsets[-1] != len(targets)
                or targets.dtype != np.int32 or weights.dtype != np.float64
                or targets.shape != weights.shape
                or (targets.size and (int(targets.min()) < 0
                                      or int(targets.max()) >= len(pool)))):
            raise ValueError("a packed lexicon's arrays do not match")
        self._keys = words
        self._pool = pool
        self._arrays = (offsets, targets, weights)
        self._offsets = memoryview(offsets)

    @classmethod
    def build(cls, table: Mapping[str, Sequence[tuple[str, float]]]) -> PackedLexicon:
        pool: dict[str, int] = {}
        pairs = [pair for targets in table.values() for pair in targets]
        offsets = np.zeros(len(table) + 1, dtype=np.int64)
        np.cumsum([len(targets) for targets in table.values()], out=offsets[1:])
        targets = np.array([pool.setdefault(t, len(pool)) for t, _ in pairs], dtype=np.int32)
        weights = np.array([w for _, w in pairs], dtype=np.float64)
        return cls(StringIndex.build(table), PackedStrings.pack(pool), offsets, targets,
                   weights)

    def save(self, directory: Path, stem: str) -> None:
        self._keys.save(directory, f"{stem}.words")
        self._pool.save(directory, f"{stem}.pool")
        _save(directory, stem, **dict(zip(self.PARTS, self._arrays, strict=True)))

    @classmethod
    def load(cls, directory: Path, stem: str) -> PackedLexicon:
        return cls(StringIndex.load(directory, f"{stem}.words"),
                   PackedStrings.load(directory, f"{stem}.pool"),
                   *_load(directory, stem, *cls.PARTS))

    def _at(self, position: int) -> list[tuple[str, float]]:
        start, stop = self._offsets[position], self._offsets[position + 1]
        _, targets, weights = self._arrays
        pool = self._pool
        return [(pool[t], w) for t, w in zip(targets[start:stop].tolist(),
                                             weights[start:stop].tolist(), strict=True)]

