"""``quotebot export``: the whole library as data, each passage linked to its own moment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.frontends.cli import main
from bot.library import Library
from tests.paths import copy_bundled

MEETINGS = "他也不喜欢冗长的会议"  # said at 17:41, in the Musk answer that starts at 16:10


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return copy_bundled(tmp_path_factory.mktemp("export-data"))


def export(capsys, data_dir: Path, *extra: str) -> str:
    code = main(["export", "--data-dir", str(data_dir), *extra])
    out, err = capsys.readouterr()
    assert code == 0 and err == "", err
    return out


def test_json_lists_every_passage_with_its_fields(capsys, data_dir: Path) -> None:
    data = json.loads(export(capsys, data_dir, "--json"))
    library = Library.load(data_dir)
    assert [p["id"] for p in data["passages"]] == [p.id for p in library.passages]
    [interview] = data["interviews"]
    assert interview["id"] == "karpathy-sequoia-2024"
    assert interview["passages"] == len(data["passages"])
    for row in data["passages"]:
        assert set(row) >= {"id", "text", "speaker", "role", "section", "question", "start",
                            "video_url", "interview"}
        assert row["interview"] == {"id": interview["id"], "title": interview["title"]}
        assert row["text"] and row["role"] in ("host", "guest")
        if row["start"] is not None:
            assert row["video_url"].endswith(f"t={int(row['start'])}s")


def test_the_meetings_remark_links_to_17_41_not_to_its_turn(capsys, data_dir: Path) -> None:
    data = json.loads(export(capsys, data_dir, "--json"))
    [row] = [p for p in data["passages"] if p["text"].startswith(MEETINGS)]
    assert abs(row["start"] - (17 * 60 + 41)) <= 10
    assert row["video_url"] == "https://www.youtube.com/watch?v=c3b-JASoPi0&t=1061s"
    assert row["time"] == "17:41"
    assert row["role"] == "guest" and row["question"]


def test_text_listing_is_readable(capsys, data_dir: Path) -> None:
    out = export(capsys, data_dir)
    assert out.startswith("# 我的领导马斯克")
    block = out[out.index(MEETINGS) - 200 : out.index(MEETINGS) + 200]
    assert "[17:41] Andrej Karpathy" in block and "&t=1061s" in block
    assert out.count("\n## ") == len(Library.load(data_dir).transcripts[0].sections)


def test_missing_data_dir_is_one_line(capsys, tmp_path: Path) -> None:
    code = main(["export", "--data-dir", str(tmp_path / "nope")])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.count("\n") == 1
