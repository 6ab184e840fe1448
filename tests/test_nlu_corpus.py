"""Issue 8: what officers actually type, measured over the corpus (tests/data/nlu_corpus.txt).

Every phrasing is parsed into a structured query (checked against the corpus) and asked through the
console (its answer must hold the key facts). Thresholds: 97 % right overall, 90 % in every
category, under 1 % confident wrong answers, parse p99 under 5 ms."""

from __future__ import annotations

from bot import lexicon
from bot.app import App
from handlers.router import INTENTS
from tests.nlu_corpus import CORPUS, evaluate, summary


def test_the_corpus_is_wide_enough() -> None:
    assert len(CORPUS) >= 500
    unaccented = [p for p in CORPUS if p.question.isascii()]
    assert len(unaccented) >= len(CORPUS) / 3
    assert {p.subject for p in CORPUS} >= set(lexicon.SUBJECTS) - {"start"}


def test_one_table_ties_every_subject_to_its_command() -> None:
    assert set(INTENTS) == set(lexicon.SUBJECTS)


async def test_corpus_accuracy(demo_app: App) -> None:
    outcomes = await evaluate(demo_app)
    figures = summary(outcomes)
    wrong = [
        f"{o.phrasing.question!r}: {o.parse_problems} missing {o.missing_facts}\n{o.answer[:300]}"
        for o in outcomes
        if not o.right
    ]
    assert figures["accuracy"] >= 0.97, "\n".join(wrong)
    assert min(figures["per_category"].values()) >= 0.90, (figures["per_category"], "\n".join(wrong))
    assert figures["confident_wrong"] < 0.01, "\n".join(wrong)
    assert figures["parse_ms_p99"] < 5, (figures["parse_ms_p50"], figures["parse_ms_p99"])
