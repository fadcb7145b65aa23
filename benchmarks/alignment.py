"""Small lookups for pinning article turns to moments in a timed transcript of the same video.

The Chinese article carries no times, so the start of each turn was found by reading it
beside an English Whisper transcript. These helpers let that choice be re-checked
mechanically (see ``tests/formats/test_timestamps.py``) without the English text ever being copied
into the project. Reading caption files is ``bot.captions``' job (``read_captions`` /
``parse_whisper``); this module only answers "which cue is at this second" and "what was
said around it".
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from bot.formats.captions import Cue


def line_at(cues: Sequence[Cue], seconds: float) -> int:
    """Index of the cue containing ``seconds``, else of the cue starting nearest to it.

    Falling back to the nearest start matters because transcripts have gaps (applause,
    silence, dropped sound cues): a turn time placed in a gap should land on the speech next
    to it, not fail. On a boundary shared by two cues the later one wins, since a time
    written as a turn start means "from here on". ``cues`` must be sorted by start, as
    ``bot.captions`` returns them.

    Raises:
        ValueError: when ``cues`` is empty.
    """
    if not cues:
        raise ValueError("line_at needs at least one cue")
    starts = [cue.start for cue in cues]
    index = bisect.bisect_right(starts, seconds) - 1
    if index >= 0 and seconds <= cues[index].end:
        return index
    candidates = [i for i in (index, index + 1) if 0 <= i < len(cues)]
    return min(candidates, key=lambda i: abs(starts[i] - seconds))


def text_near(cues: Sequence[Cue], seconds: float, radius: float = 5.0) -> str:
    """Lower-cased text of every cue overlapping ``seconds ± radius``, joined by spaces.

    Used to confirm a stored time lands where expected by looking for a few keywords, so the
    check tolerates small timing drift without anyone storing the transcript itself.
    """
    low, high = seconds - radius, seconds + radius
    return " ".join(cue.text for cue in cues if cue.end >= low and cue.start <= high).lower()


__all__ = ["line_at", "text_near"]
