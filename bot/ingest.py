"""Add a transcript (and its ``.meta.json``) to a data dir as one transaction.

What the operator gives us is never lost, and what was there is never damaged:

1. The new files are copied into a staging folder *inside* the data dir (``.ingest-*``; the
   loader skips sub-folders and dot-names) and flushed to disk.
2. They are checked alone, then together with everything that will be served after the add
   (the folder's other files are hard-linked into the staging folder), so metadata that is
   valid alone but breaks the whole library is refused before anything is published.
3. They are published by hard links, which never replace an existing name: the metadata
   first (a ``.meta.json`` without its transcript is ignored by the loader), the transcript
   last. So an add interrupted at any point — Ctrl-C, SIGTERM, SIGKILL, power loss — leaves
   a folder that loads exactly as before, or exactly as after.

Nothing that was there before is deleted or overwritten. Re-adding an identical file is a
no-op that says so; a different file under an existing name is refused unless ``replace``
is given, and then only the transcript is swapped, by one atomic ``os.replace``.
A lock file (``.ingest.lock``) serialises concurrent adds to one folder.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.formats.article import TranscriptError
from bot.formats.datadir import (
    TRANSCRIPT_SUFFIXES,
    is_transcript_name,
    load_transcript,
    transcript_files,
)
from bot.formats.metadata import META_SUFFIX, meta_path_for
from bot.library import Library
from bot.model import LibraryError

log = logging.getLogger(__name__)

STAGING_PREFIX = ".ingest-"
LOCK_NAME = ".ingest.lock"

AddStatus = Literal["added", "replaced", "unchanged"]


class IngestError(Exception):
    """The add was refused or failed; nothing in the data dir changed. One line."""


@dataclass(frozen=True)
class AddResult:
    status: AddStatus
    transcript: Path  # where the transcript is in the data dir
    meta: Path | None  # its metadata there, if any


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except FileNotFoundError:
        return False


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _copy_durably(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "xb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@contextlib.contextmanager
def _folder_lock(data_dir: Path) -> Iterator[None]:
    """One add at a time per folder (POSIX advisory lock; released when the process dies)."""
    try:
        import fcntl
    except ImportError:  # Windows: adds are rare and manual; no lock
        yield
        return
    with open(data_dir / LOCK_NAME, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise IngestError(f"another add to {data_dir} is running; try again") from None
            raise
        yield


def _remove_stale_staging(data_dir: Path) -> None:
    """Staging folders of adds that were killed (we hold the lock: none is in use)."""
    for stale in data_dir.glob(f"{STAGING_PREFIX}*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def check_name(path: Path) -> None:
    """Refuse a file the loader would skip: it would be "added" and then never served."""
    if path.name.endswith(META_SUFFIX):
        raise IngestError(f"{path}: give the transcript, not its metadata; the "
                          f"{META_SUFFIX} beside it is added with it")
    if not is_transcript_name(path.name):
        raise IngestError(
            f"{path}: the loader only reads {', '.join(TRANSCRIPT_SUFFIXES)} files whose name "
            "does not start with '.'; rename it"
        )


def add_to_data_dir(
    source: Path,
    data_dir: Path,
    *,
    replace: bool = False,
    also_served: Sequence[Path] = (),
) -> AddResult:
    """Validate ``source`` (+ its metadata) and publish it into ``data_dir`` atomically.

    ``also_served`` are the other folders the library serves together with ``data_dir``
    (the bundled interview when adding to the user's folder): the add must load with them.
    """
    check_name(source)
    source_meta = meta_path_for(source)
    has_meta = source_meta.is_file()
    target = data_dir / source.name
    target_meta = meta_path_for(target)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"cannot create {data_dir}: {exc.strerror or exc}") from None
    if not os.access(data_dir, os.W_OK):
        raise IngestError(f"{data_dir} is not writable; choose another with --data-dir")
    with _folder_lock(data_dir):
        _remove_stale_staging(data_dir)
        transcript_same = _same_bytes(source, target)
        meta_same = (
            _same_bytes(source_meta, target_meta) if has_meta else not target_meta.exists()
        )
        if target.exists() and transcript_same and meta_same:
            return AddResult("unchanged", target, target_meta if has_meta else None)
        if target_meta.exists() and not meta_same:
            if not target.exists():
                problem = (f"{target_meta} is there without its transcript (left by an "
                           "interrupted add?) and differs from ")
                problem += str(source_meta) if has_meta else "nothing (you give none)"
                raise IngestError(problem + "; remove it first")
            # Two files cannot be swapped atomically together; refuse rather than risk a
            # mixed pair (new metadata with the old transcript) being served.
            raise IngestError(
                f"{target_meta} exists with different content; metadata is never replaced in "
                "place: remove the transcript and its metadata first, then add again"
            )
        if target.exists() and not replace:
            raise IngestError(f"{target} already exists with different content; "
                              "use --replace to replace it")
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=data_dir))
        try:
            status = _stage_check_publish(
                source, source_meta if has_meta else None, data_dir, staging, also_served
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    log.info("%s %s in %s", status, source.name, data_dir)
    return AddResult(status, target, target_meta if has_meta else None)


def _stage_check_publish(
    source: Path, source_meta: Path | None, data_dir: Path, staging: Path,
    also_served: Sequence[Path],
) -> AddStatus:
    staged = staging / source.name
    staged_meta = meta_path_for(staged)
    try:
        _copy_durably(source, staged)
        if source_meta is not None:
            _copy_durably(source_meta, staged_meta)
    except OSError as exc:
        raise IngestError(f"cannot copy into {data_dir}: {exc.strerror or exc}") from None

    def in_words(exc: Exception) -> str:
        return str(exc).replace(str(staging), str(data_dir))

    # Alone: the staged copy is what will be published, not what the caller read earlier.
    try:
        load_transcript(staged)
    except TranscriptError as exc:
        raise IngestError(f"not added: {in_words(exc)}") from None
    # Together: the folder as it will be after the add, next to what is served with it.
    for existing in transcript_files(data_dir):
        if existing.name == source.name:
            continue
        _link_or_copy(existing, staging / existing.name)
        if meta_path_for(existing).is_file():
            _link_or_copy(meta_path_for(existing), meta_path_for(staging / existing.name))
    if source_meta is None and meta_path_for(data_dir / source.name).is_file():
        _link_or_copy(meta_path_for(data_dir / source.name), staged_meta)
    try:
        Library.load([*also_served, staging], use_cache=False)
    except (LibraryError, TranscriptError) as exc:
        raise IngestError(f"not added: the data dir would not load with it: "
                          f"{in_words(exc)}") from None

    target = data_dir / source.name
    if source_meta is not None and not meta_path_for(target).exists():
        os.link(staged_meta, meta_path_for(target))  # never replaces: fails if it exists
        _fsync_dir(data_dir)
    if target.exists():
        os.replace(staged, target)  # --replace: one atomic swap of the transcript only
        status: AddStatus = "replaced"
    else:
        os.link(staged, target)
        status = "added"
    _fsync_dir(data_dir)
    return status


__all__ = ["AddResult", "IngestError", "add_to_data_dir", "check_name"]
