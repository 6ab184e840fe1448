"""How long a newcomer waits: ``qtbot --help`` against a bare ``python -c pass``, and one piped console
question end to end (as the README shows it: ``./run.sh chat --as officer:"Kim Bảng" < questions``,
here the ``qtbot chat`` it runs, on the demo database) against ``python -c "import telegram,
sqlalchemy"``, the two libraries the bot is built on.

The project's .pyc files are written first, as scripts/venv.sh does when it installs (the project is
installed editable, so pip compiles none of it). Every command runs as its own process, the four
round-robin (so a busy moment of the machine hits them alike), ``--runs`` times each; the figures are
medians and the ratios are taken in the same run.
Targets: ``--help`` ≤ 5× ``python -c pass``; a question ≤ 1.3× importing telegram and sqlalchemy.

Prints one JSON line.

    .venv/bin/python bench/startup.py [--runs 9] [--question "hôm nay ai trực chỉ huy?"]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def qtbot() -> list[str]:
    """The installed ``qtbot`` command next to this Python (what ./run.sh runs), else ``-m bot.cli``."""
    script = Path(sys.executable).parent / "qtbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], *, env: dict[str, str], cwd: Path, stdin: str = "") -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (user + system) of one run, and its output."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, cwd=cwd, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu, done.stdout


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=9, help="runs of each command (medians are reported)")
    options.add_argument("--question", default="hôm nay ai trực chỉ huy?", help="the question piped in")
    args = options.parse_args()

    compile_project = [sys.executable, "-m", "compileall", "-q", "bot", "handlers", "jobs", "migrations"]
    subprocess.run(compile_project, cwd=ROOT, check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("QTBOT_")}
        env["QTBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{cwd / 'qtbot.db'}"
        env["PYTHONPATH"] = str(ROOT)
        subprocess.run([*qtbot(), "demo"], env=env, cwd=cwd, check=True, capture_output=True)
        commands = {
            "python_pass": ([sys.executable, "-c", "pass"], ""),
            "help": ([*qtbot(), "--help"], ""),
            "import_telegram_sqlalchemy": ([sys.executable, "-c", "import telegram, sqlalchemy"], ""),
            "question": ([*qtbot(), "chat", "--as", "officer:Kim Bảng"], args.question + "\n"),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        answer = ""
        for _ in range(args.runs):
            for name, (argv, stdin) in commands.items():
                seconds, cpu_seconds, out = timed(argv, env=env, cwd=cwd, stdin=stdin)
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
                answer = out if name == "question" else answer
        assert "Trực chỉ huy" in answer, answer  # the question was answered, not refused

    median = {name: statistics.median(values) for name, values in times.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    help_ratio = median["help"] / median["python_pass"]
    question_ratio = median["question"] / median["import_telegram_sqlalchemy"]
    print(
        json.dumps(
            {
                "bench": "startup",
                "runs": args.runs,
                **{f"{name}_s": round(value, 3) for name, value in median.items()},
                "help_vs_python": round(help_ratio, 2),
                "help_target": 5.0,
                "question_vs_import_telegram_sqlalchemy": round(question_ratio, 2),
                "question_target": 1.3,
                "met": help_ratio <= 5.0 and question_ratio <= 1.3,
                # CPU seconds move less than wall-clock ones on a shared machine
                **{f"{name}_cpu_s": round(value, 3) for name, value in median_cpu.items()},
                "help_vs_python_cpu": round(median_cpu["help"] / median_cpu["python_pass"], 2),
                "question_vs_import_telegram_sqlalchemy_cpu": round(
                    median_cpu["question"] / median_cpu["import_telegram_sqlalchemy"], 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
