"""How well the bot understands what officers type: the NLU corpus (tests/data/nlu_corpus.txt).

Every phrasing is parsed into a structured query (subject, filters, operation) and asked through the
console of a fresh demo database as of 22/06/2022 10h00. A phrasing is right when its query matches
the corpus and its answer holds the key facts; a wrong answer that does not ask back or offer help is
a confident wrong one. Prints one JSON line: accuracy overall and per category, the share of
confident wrong answers, and parse time p50/p99 per question (milliseconds, parsing alone, the best of
three runs of each so that a garbage collection is not charged to one question).
``--show-wrong`` also prints each miss (to standard error).

    .venv/bin/python bench/nlu.py [--show-wrong]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App
from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade_database
from bot.demo import load_demo
from tests.nlu_corpus import evaluate, summary


async def main(show_wrong: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/nlu.db"
        engine = create_engine(url)
        await upgrade_database(engine)
        async with session_factory(engine)() as session, session.begin():
            await load_demo(session, ZoneInfo("Asia/Ho_Chi_Minh"))
        await engine.dispose()
        app = App(Settings(_env_file=None, database_url=url, timezone="Asia/Ho_Chi_Minh"))  # type: ignore[call-arg]
        try:
            outcomes = await evaluate(app)
        finally:
            await app.close()
    if show_wrong:
        for outcome in outcomes:
            if not outcome.right:
                print(
                    f"{outcome.phrasing.question!r} [{outcome.phrasing.style}]: {outcome.parse_problems} "
                    f"missing {outcome.missing_facts}",
                    file=sys.stderr,
                )
    print(json.dumps(summary(outcomes), ensure_ascii=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show-wrong", action="store_true", help="print each miss to standard error")
    asyncio.run(main(parser.parse_args().show_wrong))
