"""``quotebot ingest --add`` is one transaction: it validates in a staging folder, never
deletes or overwrites what was there, and an interrupted add leaves the folder loading
exactly as before or exactly as after."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.formats.datadir import transcript_files, user_data_dir
from bot.formats.metadata import meta_path_for
from bot.frontends.cli import main
from bot.ingest import STAGING_PREFIX, IngestError, add_to_data_dir
from bot.library import Library
from bot.model import LibraryError
from tests.paths import DATA_DIR, REPO

BUNDLED = DATA_DIR

ARTICLE = """养蜂人的一年

春天
Q: 春天您最先做什么?
老周: 先看蜂王在不在,再看蜂群有没有生病。
Q: 要看多久?
老周: 一个蜂箱看十分钟就够了。

冬天
Q: 冬天蜜蜂怎么过?
老周: 它们挤成一团取暖,我们只要别去打扰。
"""


def article(folder: Path, name: str = "beekeeper.zh.txt", *, text: str = ARTICLE,
            meta: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    meta = {"id": path.name.split(".")[0], "guest": {"name": "老周", "labels": ["老周"]}} \
        if meta is None else meta
    meta_path_for(path).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of the folder (not the lock or staging), by name."""
    return {p.name: p.read_bytes() for p in folder.iterdir()
            if p.is_file() and p.name != ".ingest.lock"}


def served(folder: Path) -> dict[str, tuple[bytes, bytes | None]]:
    """What the loader serves: each transcript with the metadata it is read with."""
    out = {}
    for path in transcript_files(folder):
        meta = meta_path_for(path)
        out[path.name] = (path.read_bytes(), meta.read_bytes() if meta.is_file() else None)
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    article(data, "first.zh.txt", text=ARTICLE.replace("养蜂人", "老养蜂人"))
    return data


def test_add_then_identical_re_add_is_a_no_op_that_says_so(folder, tmp_path, capsys):
    source = article(tmp_path / "incoming")
    assert main(["ingest", str(source), "--add", "--data-dir", str(folder)]) == 0
    assert "added to " in capsys.readouterr().out
    after = snapshot(folder)
    assert after["beekeeper.zh.txt"] == source.read_bytes()
    mtime = (folder / "beekeeper.zh.txt").stat().st_mtime_ns
    assert main(["ingest", str(source), "--add", "--data-dir", str(folder)]) == 0
    assert "identical: nothing changed" in capsys.readouterr().out
    assert snapshot(folder) == after
    assert (folder / "beekeeper.zh.txt").stat().st_mtime_ns == mtime
    assert not list(folder.glob(f"{STAGING_PREFIX}*"))


def test_a_different_file_under_an_existing_name_needs_replace(folder, tmp_path, capsys):
    source = article(tmp_path / "incoming", "first.zh.txt")
    meta_path_for(source).write_bytes(meta_path_for(folder / "first.zh.txt").read_bytes())
    before = snapshot(folder)
    assert main(["ingest", str(source), "--add", "--data-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "--replace" in err and err.count("\n") == 1
    assert snapshot(folder) == before
    assert main(["ingest", str(source), "--add", "--replace", "--data-dir", str(folder)]) == 0
    assert (folder / "first.zh.txt").read_bytes() == source.read_bytes()


def test_changed_metadata_is_never_replaced_in_place(folder, tmp_path):
    source = article(tmp_path / "incoming", "first.zh.txt",
                     meta={"id": "first", "title": "新标题", "guest": {"labels": ["老周"]}})
    before = snapshot(folder)
    with pytest.raises(IngestError, match="metadata is never replaced in place"):
        add_to_data_dir(source, folder, replace=True)
    assert snapshot(folder) == before


def test_a_failed_add_deletes_nothing_that_was_there(folder, tmp_path):
    """Re-adding a file that is already there while another file is broken used to delete
    the existing transcript and its metadata."""
    existing = folder / "first.zh.txt"
    (folder / "broken.zh.txt").write_text("Q: 只有主持人\n", encoding="utf-8")
    before = snapshot(folder)
    source = tmp_path / "again" / existing.name
    source.parent.mkdir()
    shutil.copy2(existing, source)
    shutil.copy2(meta_path_for(existing), meta_path_for(source))
    (folder / "broken.zh.txt").unlink()
    # identical: a no-op even though nothing is validated
    assert add_to_data_dir(source, folder).status == "unchanged"
    (folder / "broken.zh.txt").write_bytes(before["broken.zh.txt"])
    new = article(tmp_path / "incoming")
    with pytest.raises(IngestError, match="would not load"):
        add_to_data_dir(new, folder)
    assert snapshot(folder) == before


def test_metadata_valid_alone_but_breaking_the_folder_is_refused(folder, tmp_path):
    clash = article(tmp_path / "incoming", meta={"id": "first", "guest": {"labels": ["老周"]}})
    before = snapshot(folder)
    with pytest.raises(IngestError, match="share the id 'first'"):
        add_to_data_dir(clash, folder)
    assert snapshot(folder) == before
    Library.load(folder, use_cache=False)


@pytest.mark.parametrize("name", [".hidden.zh.txt", "notes.md", "talk.zh.meta.json", "a.TXT~"])
def test_files_the_loader_would_ignore_are_refused(folder, tmp_path, capsys, name):
    source = tmp_path / name
    source.write_text(ARTICLE, encoding="utf-8")
    before = snapshot(folder)
    assert main(["ingest", str(source), "--add", "--data-dir", str(folder)]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert snapshot(folder) == before


def test_stray_staging_folders_are_ignored_and_cleaned(folder, tmp_path):
    stray = folder / f"{STAGING_PREFIX}killed"
    stray.mkdir()
    (stray / "half.zh.txt").write_text("Q: 半", encoding="utf-8")
    assert [t.id for t in Library.load(folder, use_cache=False).transcripts] == ["first"]
    add_to_data_dir(article(tmp_path / "incoming"), folder)
    assert not stray.exists()


def test_without_a_data_dir_add_goes_to_the_user_data_dir_and_is_served(tmp_path, capsys):
    package_before = snapshot(BUNDLED)
    source = article(tmp_path / "incoming")
    assert main(["ingest", str(source), "--add"]) == 0
    target = user_data_dir() / source.name
    assert target.read_bytes() == source.read_bytes()
    assert str(target).startswith(os.environ["XDG_DATA_HOME"])
    assert snapshot(BUNDLED) == package_before
    capsys.readouterr()
    assert main(["topics", "--json"]) == 0
    ids = [t["id"] for t in json.loads(capsys.readouterr().out)["transcripts"]]
    assert ids == ["karpathy-sequoia-2024", "beekeeper"]
    shutil.rmtree(user_data_dir())


def test_the_user_folder_cannot_shadow_the_bundled_interview(tmp_path):
    source = article(tmp_path / "incoming", meta={"id": "karpathy-sequoia-2024",
                                                  "guest": {"labels": ["老周"]}})
    with pytest.raises(IngestError, match="share the id"):
        add_to_data_dir(source, tmp_path / "user", also_served=[BUNDLED])
    with pytest.raises(LibraryError):
        Library.load([BUNDLED, BUNDLED], use_cache=False)


# --------------------------------------------------------------------------- fault injection

KILLS = 21

# English, so each killed process builds no Chinese cross-language lexicon: the test stays
# quick while the add still goes through every step (copy, checks, publish).
ENGLISH = """A beekeeper's year

Spring
Q: What do you do first in spring?
Zhou: I check that the queen is there and that the colony is healthy.

Winter
Q: How do bees get through the winter?
Zhou: They huddle together for warmth, and we leave them alone.
"""


def english(folder: Path, name: str) -> Path:
    return article(folder, name, text=ENGLISH, meta={
        "id": name.split(".")[0], "language": "en", "guest": {"name": "Zhou", "labels": ["Zhou"]},
    })


def test_killing_an_add_at_random_points_leaves_the_folder_before_or_after(
    tmp_path, interruptible_children
):
    """SIGKILL, SIGTERM and SIGINT at random moments of ``quotebot ingest --add``: the folder
    always loads, serves exactly the old or the new set, keeps every old file byte for byte,
    and the add can simply be run again."""
    folder = tmp_path / "data"
    english(folder, "first.en.txt")
    source = english(tmp_path / "incoming", "beekeeper.en.txt")
    before_files = snapshot(folder)
    before = served(folder)
    Library.load(folder, use_cache=False)
    command = [sys.executable, "-m", "bot.frontends.cli", "ingest", str(source), "--add",
               "--data-dir", str(folder)]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")

    def undo() -> None:
        for name in (source.name, meta_path_for(source).name):
            (folder / name).unlink(missing_ok=True)

    started = time.monotonic()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    full = time.monotonic() - started
    after = served(folder)
    assert after != before and set(after) == set(before) | {source.name}
    Library.load(folder, use_cache=False)
    undo()

    rng = random.Random(8)
    outcomes = {"before": 0, "after": 0}
    for attempt in range(KILLS):
        # Half the kills near the end, where publishing happens.
        delay = full * (rng.uniform(0.75, 1.05) if attempt % 2 else rng.uniform(0.0, 1.0))
        sig = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)[attempt % 3]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        time.sleep(delay)
        process.send_signal(sig)
        _, err = process.communicate(timeout=120)
        # Ctrl-C while Python is still importing is outside main(): its traceback is allowed.
        assert b"Traceback" not in err or err.rstrip().endswith(b"KeyboardInterrupt"), err
        state = served(folder)
        assert state in (before, after), f"kill {attempt} ({sig.name} at {delay:.2f}s)"
        outcomes["after" if state == after else "before"] += 1
        files = snapshot(folder)
        for name, content in before_files.items():
            assert files[name] == content  # nothing that was there changed
        extra = set(files) - set(before_files)
        assert extra <= {source.name, meta_path_for(source).name}
        for name in extra:
            assert files[name] == (tmp_path / "incoming" / name).read_bytes()  # never partial
        # Both possible states were loaded above; now and then, check that the add can simply
        # be run again, completing it (or finding it complete) and cleaning up.
        if attempt % 5 == 4:
            assert add_to_data_dir(source, folder).status in ("added", "unchanged")
            assert served(folder) == after
            assert not list(folder.glob(f"{STAGING_PREFIX}*"))
        undo()
    Library.load(folder, use_cache=False)
    print(f"{KILLS} kills: {outcomes}")


# --------------------------------------------------------------------------- no metadata


def test_an_article_without_metadata_infers_its_guest(tmp_path, capsys):
    """The bundled article alone: the recurring 卡帕西: is the guest."""
    source = tmp_path / "talk.zh.txt"
    shutil.copy2(BUNDLED / "karpathy-sequoia-ai-ascent-2024.zh.txt", source)
    assert main(["ingest", str(source), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["turns"] == {"host": 9, "guest": 9, "unknown": 0}
    from bot.formats.datadir import load_transcript

    transcript = load_transcript(source)
    assert transcript.guest == "卡帕西"
    assert {p.speaker for p in transcript.passages if p.role == "guest"} == {"卡帕西"}


@pytest.mark.parametrize(
    "text",
    [
        "访谈\n\n第一部分\nQ: 你好?\n老周: 你好。\nQ: 再见?\n老王: 再见。\n",  # tie: who is it?
        "访谈\n\n第一部分\nQ: 你好?\n大家好。\n",  # no label at all
    ],
)
def test_when_the_guest_cannot_be_inferred_the_error_shows_the_meta_file_to_write(
    tmp_path, capsys, text
):
    source = tmp_path / "talk.zh.txt"
    source.write_text(text, encoding="utf-8")
    assert main(["ingest", str(source)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert 'create talk.zh.meta.json beside it containing {"guest": {"labels": ["NAME"]}}' in err
