#!/usr/bin/env bash
# Runs ruff and the whole test suite (SQLite; PostgreSQL too when QTBOT_TEST_DATABASE_URL is set).
# Creates .venv on first use. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/pytest -q "$@"
