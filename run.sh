#!/usr/bin/env bash
# Runs the bot: Telegram and/or Zalo when their tokens are set (in the environment or .env),
# otherwise a console chat on the demo data. Creates .venv on first use.
#   ./run.sh [--as ...] [--now ...]   = qtbot run ...
#   ./run.sh chat|tick|demo|migrate ...  = that qtbot subcommand (./run.sh --help lists them)
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
case "${1:-}" in
    -h | --help) exec .venv/bin/qtbot "$@" ;;
    "" | -*) exec .venv/bin/qtbot run "$@" ;;
    *) exec .venv/bin/qtbot "$@" ;;
esac
