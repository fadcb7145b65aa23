"""The table of contents of an interview: sections, the questions asked, a few keywords."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.model import ELLIPSIS, GUEST, HOST, Transcript, is_ascii_number, timestamped_url
from bot.text.sentences import split_sentences

KEYWORDS_PER_SECTION = 6
SECTION_KEY_SEP = "#"  # a section key is "<interview id>#<section number>"


@dataclass(frozen=True)
class TopicQuestion:
    short: str
    full: str
    start: float | None
    link: str
    first_answer_line: str


@dataclass(frozen=True)
class TopicSection:
    title: str
    keywords: list[str]
    passages: int
    questions: list[TopicQuestion]


@dataclass(frozen=True)
class TopicTranscript:
    id: str
    title: str
    video_url: str
    guest: str
    sections: list[TopicSection]

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "video_url": self.video_url,
            "guest": self.guest,
            "sections": [
                {
                    "title": s.title,
                    "questions": [q.short for q in s.questions],
                    "keywords": s.keywords,
                    "passages": s.passages,
                    "links": [q.link for q in s.questions],
                }
                for s in self.sections
            ],
        }


def table_of_contents(
    transcript: Transcript, tokenize: Callable[[str], list[str]]
) -> TopicTranscript:
    """Sections with their host questions and the words that set each section apart.

    Keywords are the guest's words with the highest tf-idf of the section against the other
    sections, so each section shows what is particular to it, not "模型" everywhere.
    """
    section_counts: list[Counter[str]] = []
    for section in transcript.sections:
        counts: Counter[str] = Counter()
        for turn_index in section.turn_indices:
            turn = transcript.turns[turn_index]
            if turn.role != GUEST:
                continue
            for p in turn.passage_indices:
                counts.update(
                    t for t in tokenize(transcript.passages[p].text)
                    if len(t) >= 2 and not t.replace(".", "").replace("-", "").isdigit()
                )
        section_counts.append(counts)
    n_sections = len(section_counts)
    df = Counter(t for counts in section_counts for t in counts)

    sections: list[TopicSection] = []
    for section, counts in zip(transcript.sections, section_counts, strict=True):
        scored = sorted(
            counts.items(),
            key=lambda kv: (-(kv[1] * math.log(1 + n_sections / df[kv[0]])), -len(kv[0]), kv[0]),
        )
        keywords: list[str] = []
        for token, _ in scored:
            if any(token in k for k in keywords):
                continue  # 大模型 already says 模型
            keywords = [k for k in keywords if k not in token] + [token]
            if len(keywords) == KEYWORDS_PER_SECTION:
                break
        questions: list[TopicQuestion] = []
        passages = 0
        for position, turn_index in enumerate(section.turn_indices):
            turn = transcript.turns[turn_index]
            passages += len(turn.passage_indices)
            if turn.role != HOST or not turn.question.strip():
                continue  # a host turn that asks nothing is not listed as a question
            full = "".join(transcript.passages[p].text for p in turn.passage_indices)
            answer_line = ""
            later = section.turn_indices[position + 1 :]
            answer = next((transcript.turns[t] for t in later if transcript.turns[t].role == GUEST),
                          None)
            if answer is not None and answer.passage_indices:
                sentences = split_sentences(transcript.passages[answer.passage_indices[0]].text)
                answer_line = sentences[0].strip() if sentences else ""
            questions.append(
                TopicQuestion(
                    short=turn.question,
                    full=full,
                    start=turn.start,
                    link=timestamped_url(transcript.video_url, turn.start),
                    first_answer_line=answer_line,
                )
            )
        sections.append(TopicSection(section.title, keywords, passages, questions))
    return TopicTranscript(
        id=transcript.id,
        title=transcript.title,
        video_url=transcript.video_url,
        guest=transcript.guest,
        sections=sections,
    )


def numbered_sections(
    topics: Sequence[TopicTranscript],
) -> list[tuple[int, TopicTranscript, TopicSection]]:
    """Every section with its number, counted from 1 across all interviews: the numbers the
    text table of contents shows and ``/topics N`` in the console takes."""
    pairs = [(t, s) for t in topics for s in t.sections]
    return [(number, t, s) for number, (t, s) in enumerate(pairs, start=1)]


def section_by_number(
    topics: Sequence[TopicTranscript], number: int
) -> tuple[TopicTranscript, TopicSection] | None:
    for n, topic, section in numbered_sections(topics):
        if n == number:
            return topic, section
    return None


def find_section(
    topics: Sequence[TopicTranscript], wanted: str
) -> tuple[TopicTranscript, TopicSection] | None:
    """The section named ``wanted``: a section key (``<interview id>#<n>``), its exact title,
    else a unique prefix (autocomplete values are cut to 100 characters) or a unique
    case-insensitive substring."""
    pairs = [(t, s) for t in topics for s in t.sections]
    wanted = wanted.strip()
    interview_id, sep, number = wanted.rpartition(SECTION_KEY_SEP)
    if sep and is_ascii_number(number, 9):
        for topic in topics:
            if topic.id == interview_id and int(number) < len(topic.sections):
                return topic, topic.sections[int(number)]
    for pair in pairs:
        if pair[1].title == wanted:
            return pair
    stem = wanted.removesuffix(ELLIPSIS).casefold()
    if not stem:
        return None
    for test in (str.startswith, str.__contains__):
        found = [p for p in pairs if test(p[1].title.casefold(), stem)]
        if len(found) == 1:
            return found[0]
    return None
