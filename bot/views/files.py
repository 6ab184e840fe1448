"""Files in the console: what it prints when the bot sends a file, and when a file cannot be sent."""

from __future__ import annotations

from pathlib import Path

FILE_PREFIX = "file:"


def saved_line(path: Path) -> str:
    """The line the console prints for a file the bot sent (saved under --files)."""
    return f"[tệp] {path}"


HOW = "Viết: file:<đường dẫn> <chú thích>, ví dụ file:lich.xlsx /nhap lịch trực Kim Bảng"


def not_found(path: str) -> str:
    return f"Không tìm thấy tệp “{path}”. {HOW}"


def not_readable(path: str) -> str:
    return f"Không đọc được tệp “{path}” (không phải tệp thường, hoặc không có quyền đọc)."


def missing_path() -> str:
    return f"Thiếu đường dẫn tệp. {HOW}"
