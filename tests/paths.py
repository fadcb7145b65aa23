"""Where the tests find their material: the one definition of each path.

A plain module rather than conftest.py, so test modules can import these at module level.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data"  # the bundled interview (read-only: never write here)
SEED = DATA_DIR / "karpathy-sequoia-ai-ascent-2024.zh.txt"
TEST_DATA = REPO / "tests" / "data"  # the tests' own fixtures, committed
WHISPER_NAME = "c3b-JASoPi0.en.whisper.txt"


def shared_dir() -> Path:
    """The read-only shared material: ``$QUOTEBOT_SHARED_DIR``, else ``../shared`` of the repo."""
    return Path(os.environ.get("QUOTEBOT_SHARED_DIR") or REPO.parent / "shared")


def copy_bundled(target: Path) -> Path:
    """Copy the bundled transcripts and metadata into ``target`` (created if needed)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in DATA_DIR.iterdir():
        if item.is_file() and item.suffix in (".txt", ".json"):
            shutil.copy2(item, target / item.name)
    return target
