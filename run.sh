#!/usr/bin/env bash
# Runs the bot: Telegram long polling when QTBOT_TELEGRAM_TOKEN is set (in the environment or .env),
# otherwise a console chat on the demo data. Creates .venv on first use.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
exec .venv/bin/qtbot run "$@"
