"""The one cleaner for text a user typed, before it is searched, stored or echoed.

Zero-width characters, bidi overrides (U+202E turns an echoed "gnp.exe" into "exe.png"),
control characters, lone surrogates (from invalid UTF-8 on a terminal or in ``argv``) and
line/paragraph separators are removed; runs of whitespace become one space. `/ask`, the
quote commands and the console all use this, so what one front end refuses or shows, the
others do too.
"""

from __future__ import annotations

import unicodedata

# Cc control, Cf format (zero-width, bidi, BOM, soft hyphen), Cs surrogates, Co private use,
# Zl/Zp line and paragraph separators.
_REMOVED = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def visible_text(text: str) -> str:
    """``text`` without invisible, bidi-control or control characters, spaces collapsed."""
    kept = (
        " " if unicodedata.category(c) in _REMOVED or c.isspace() else c
        for c in text
    )
    return " ".join("".join(kept).split())


__all__ = ["visible_text"]
