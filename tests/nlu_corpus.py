"""The NLU corpus (tests/data/nlu_corpus.txt): each phrasing with its expected structured query and
the key facts of its answer, and each written three ways: as typed there, without diacritics, and
with a particle plus an abbreviation or a typing slip, the way officers write in a hurry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.textnorm import strip_diacritics

CORPUS_FILE = Path(__file__).parent / "data" / "nlu_corpus.txt"
PARTICLES = ("nhỉ", "vậy", "ạ", "thế", "nhé", "đ/c ơi")
# Abbreviations officers type, tried in order on the question (the first that applies is used).
SHORTHAND = [
    ("nhiệm vụ", "nv"),
    ("không", "ko"),
    ("đơn vị", "dv"),
    ("bao nhiêu", "bn"),
    ("diễn tập", "dt"),
    ("đồng chí", "đ/c"),
    ("là gì", "là j"),
    ("hôm nay", "hnay"),
    ("lịch trực", "lịch trựcc"),
    ("xếp hạng", "xếp hạngg"),
    ("điểm", "điểmm"),
]


@dataclass(frozen=True)
class Phrasing:
    question: str
    subject: str | None
    operation: str
    filters: dict[str, str]
    facts: list[str]
    admin: bool = False
    style: str = "as typed"  # as typed / no diacritics / hurried
    flags: frozenset[str] = field(default_factory=frozenset)


def _hurried(question: str, index: int) -> str:
    for long, short in SHORTHAND:
        if long in question:
            question = question.replace(long, short, 1)
            break
    return f"{question.rstrip('?').rstrip()} {PARTICLES[index % len(PARTICLES)]}"


def load() -> list[Phrasing]:
    phrasings: list[Phrasing] = []
    lines = [line for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("#"):
            continue
        question, query, facts = (part.strip() for part in line.split("||"))
        admin = question.startswith("@admin ")
        question = question.removeprefix("@admin ")
        words = query.split()
        subject = None if words[0] == "none" else words[0]
        operation = words[1]
        filters: dict[str, str] = {}
        flags = set()
        for word in words[2:]:
            if "=" in word:
                key, _, value = word.partition("=")
                filters[key] = value
            else:
                flags.add(word)
        # Filter values with spaces are written with the next words: "unit=Kim Bảng".
        for key in list(filters):
            match = re.search(rf"\b{key}=(.+?)(?= \w+=|$| self\b)", query)
            if match:
                filters[key] = match.group(1)
        expected = [f.strip() for f in facts.split(";;")]
        common = dict(subject=subject, operation=operation, filters=filters, admin=admin, flags=frozenset(flags))
        phrasings.append(Phrasing(question, facts=expected, **common))
        phrasings.append(Phrasing(strip_diacritics(question), facts=expected, style="no diacritics", **common))
        phrasings.append(Phrasing(_hurried(question, index), facts=expected, style="hurried", **common))
    return phrasings


CORPUS = load()


# An answer that asks back or offers help is not a confident answer (right or wrong).
ASKING_BACK = ("Đồng chí muốn xem gì?", "Đồng chí hỏi về người nào?", "Tôi chưa hiểu câu hỏi", "đơn vị nào?")


@dataclass
class Outcome:
    phrasing: Phrasing
    parse_problems: list[str]
    missing_facts: list[str]
    answer: str
    parse_seconds: float

    @property
    def right(self) -> bool:
        return not self.parse_problems and not self.missing_facts

    @property
    def confident_wrong(self) -> bool:
        return not self.right and not any(marker in self.answer for marker in ASKING_BACK)


def query_problems(phrasing: Phrasing, query: object) -> list[str]:
    """How a parsed query differs from what the corpus expects."""
    slots = query.slots  # type: ignore[attr-defined]
    problems = []
    if query.subject != phrasing.subject:  # type: ignore[attr-defined]
        problems.append(f"subject {query.subject} != {phrasing.subject}")  # type: ignore[attr-defined]
    if query.operation != phrasing.operation:  # type: ignore[attr-defined]
        problems.append(f"operation {query.operation} != {phrasing.operation}")  # type: ignore[attr-defined]
    got = {
        "day": f"{slots.span[0]:%d/%m}" if slots.span else None,
        "role": slots.role,
        "unit": slots.unit.unit.short_name if slots.unit else None,
        "unit2": slots.unit2.unit.short_name if slots.unit2 else None,
        "area": slots.area.unit.short_name if slots.area else None,
        "person": slots.people[0].given if len(slots.people) == 1 else None,
        "criterion": slots.criterion,
        "grade": slots.grade,
        "task": slots.task_code,
        "kind": slots.event_kind,
    }
    for key, value in phrasing.filters.items():
        have = got.get(key)
        if have is None or strip_diacritics(str(have)).lower() != strip_diacritics(value).lower():
            problems.append(f"{key} {have!r} != {value!r}")
    if "self" in phrasing.flags and not slots.self_ref:
        problems.append("not read as the asker")
    return problems


def summary(outcomes: list[Outcome]) -> dict[str, object]:
    """Accuracy overall and per subject, the share of confident wrong answers, parse p50/p99 (ms)."""
    by_subject: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_subject.setdefault(outcome.phrasing.subject or "none", []).append(outcome)
    times = sorted(o.parse_seconds for o in outcomes)

    def pct(q: float) -> float:
        return round(times[min(len(times) - 1, int(q * len(times)))] * 1000, 3)

    return {
        "questions": len(outcomes),
        "accuracy": round(sum(o.right for o in outcomes) / len(outcomes), 4),
        "per_category": {
            subject: round(sum(o.right for o in group) / len(group), 4) for subject, group in sorted(by_subject.items())
        },
        "confident_wrong": round(sum(o.confident_wrong for o in outcomes) / len(outcomes), 4),
        "parse_ms_p50": pct(0.50),
        "parse_ms_p99": pct(0.99),
    }


async def evaluate(app: object) -> list[Outcome]:
    """Ask every phrasing of the corpus through the console (an officer of Kim Bảng, or an admin)."""
    import time as clock

    from bot.services.units import load_directory, load_people
    from handlers.nlu import parse_query
    from tests.chatting import ask, console
    from tests.examples import NOW

    officer = await console(app, "officer:Kim Bảng")  # type: ignore[arg-type]
    admin = await console(app, "admin")  # type: ignore[arg-type]
    async with app.dispatcher.sessions() as session:  # type: ignore[attr-defined]
        directory = await load_directory(session)
        people = await load_people(session)
        home = directory.resolve("Kim Bảng")
    from datetime import datetime

    today = datetime.strptime(NOW, "%Y-%m-%d %H:%M").date()
    outcomes = []
    for phrasing in CORPUS:
        elapsed = float("inf")
        for _ in range(3):  # best of three: the parse's own cost, not a garbage collection's
            started = clock.perf_counter()
            query = parse_query(
                phrasing.question,
                today=today,
                directory=directory,
                home_district=home.unit.id if home else None,
                people=people,
            )
            elapsed = min(elapsed, clock.perf_counter() - started)
        answer = await ask(admin if phrasing.admin else officer, phrasing.question)
        missing = [fact for fact in phrasing.facts if fact not in answer]
        outcomes.append(Outcome(phrasing, query_problems(phrasing, query), missing, answer, elapsed))
    return outcomes
