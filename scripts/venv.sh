# Sourced by run.sh and test.sh: make sure .venv exists with the project and its dev tools installed.
# Re-installs when pyproject.toml changed since the last install. pip's own output goes to
# .venv/pip.log and is shown (its tail) only when the install fails.
set -euo pipefail
PYTHON=${PYTHON:-python3}
stamp=.venv/.qtbot-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    if [ -f "$stamp" ]; then
        echo "pyproject.toml đã đổi: đang cài lại các gói vào .venv (khoảng một phút)..." >&2
    else
        echo "Lần chạy đầu: đang tạo môi trường Python (.venv) và cài các gói; mất khoảng một, hai phút..." >&2
    fi
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv
    fi
    log=.venv/pip.log
    started=$SECONDS
    # compileall: the project is installed editable, so pip compiles none of it; without .pyc files
    # (and with PYTHONDONTWRITEBYTECODE set, as on some machines) every start compiles it again.
    if ! {
        .venv/bin/python -m pip install --upgrade pip &&
            .venv/bin/python -m pip install -e ".[dev]" &&
            .venv/bin/python -m compileall -q bot handlers jobs migrations
    } >"$log" 2>&1; then
        echo "Cài đặt không thành công. Cuối nhật ký pip ($log):" >&2
        tail -n 25 "$log" >&2
        exit 1
    fi
    touch "$stamp"
    echo "Đã cài xong sau $((SECONDS - started)) giây." >&2
fi
