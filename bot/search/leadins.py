"""A short paragraph is shown with the paragraph after it in the same turn.

Speakers announce a point in one short paragraph and make it in the next: "第二点则是他如何
营造工作氛围…" then "他希望工作环境充满活力…"; "是的,OpenAI 最初的办公室就在那里" then
"…楼下就是巧克力工厂". Alone, the announcement is often the closest to a question, since it
names the topic, yet it does not answer it. Shown with what follows, the quote holds the
answer in the speaker's own words, still one contiguous stretch of one turn; and when the
paragraph that answers ranks first, it is shown after its lead-in, where the speaker starts.

"Short" is measured in characters: 50 for Chinese, about a third of the bundled interview's
paragraphs, and three times that for Latin-script text, which takes about three characters
where Chinese takes one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

LEAD_IN_CHARS = {"zh": 50}
LATIN_LEAD_IN_CHARS = 150


def is_lead_in(text: str, language: str) -> bool:
    """Whether a paragraph is short enough to be shown with the one after it."""
    return len(text.strip()) < LEAD_IN_CHARS.get(language, LATIN_LEAD_IN_CHARS)


def quote_units(
    order: Iterable[int],
    count: int,
    continuation: Callable[[int], int | None],
    lead_in: Callable[[int], int | None],
) -> list[tuple[int, int | None]]:
    """The first ``count`` quotes to show, from passages ranked best first.

    A short paragraph and the one it opens onto are one quote, shown at the rank of
    whichever of the two ranks first: a passage with the paragraph after it
    (``continuation(passage)``, None when it opens onto none), or after the paragraph that
    leads in to it (``lead_in(passage)``, None when none does). Either way the quote starts
    where the speaker does. A paragraph is shown once: one already shown is not added to a
    later quote, and one shown within a quote is not shown again on its own."""
    units: list[tuple[int, int | None]] = []
    taken: set[int] = set()
    for passage in order:
        if len(units) >= count:
            break
        if passage in taken:
            continue
        before = lead_in(passage)
        if before is not None and before not in taken:
            taken.update((before, passage))
            units.append((before, passage))
            continue
        taken.add(passage)
        following = continuation(passage)
        if following is not None and following in taken:
            following = None
        if following is not None:
            taken.add(following)
        units.append((passage, following))
    return units
