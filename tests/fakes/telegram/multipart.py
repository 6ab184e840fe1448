"""Request parsing shared by the fake's in-process transport and its HTTP server: query strings,
form, JSON and multipart bodies, and the helpers that coerce Bot API parameters (``p_int`` ...)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.telegram.errors import JSON, bad_request


@dataclass
class UploadedFile:
    """A file part of a multipart/form-data request."""

    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    from python_multipart.multipart import MultipartParser, parse_options_header

    _ctype, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise bad_request("multipart boundary is missing")
    params: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    state: dict[str, Any] = {}

    def on_part_begin() -> None:
        state["headers"] = {}
        state["data"] = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] = state.get("field", b"") + data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] = state.get("value", b"") + data[start:end]

    def on_header_end() -> None:
        state["headers"][state.pop("field", b"").lower()] = state.pop("value", b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"] += data[start:end]

    def on_part_end() -> None:
        _disposition, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        data = bytes(state["data"])
        if filename is not None:
            part_type = state["headers"].get(b"content-type")
            files[name] = UploadedFile(
                field_name=name,
                filename=filename.decode("utf-8", "replace"),
                content_type=part_type.decode("latin-1") if part_type else None,
                data=data,
            )
        else:
            params[name] = data.decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    parser.write(body)
    parser.finalize()
    return params, files


def parse_request_body(
    content_type: str | None, body: bytes, query: str | bytes = ""
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parse Bot API parameters from a raw request the way Telegram accepts them.

    Supports the query string, ``application/x-www-form-urlencoded`` (what PTB sends when there
    are no files), ``application/json`` and ``multipart/form-data``. Form values stay strings;
    handlers coerce them (and JSON-decode nested objects such as ``reply_markup``).
    """
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    files: dict[str, UploadedFile] = {}
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if not body:
        return params, files
    if ctype == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise bad_request("can't parse JSON object") from exc
        if not isinstance(decoded, dict):
            raise bad_request("JSON object expected")
        params.update(decoded)
    elif ctype == "multipart/form-data":
        fields, files = _parse_multipart(content_type or "", body)
        params.update(fields)
    else:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params, files


def p_opt(params: JSON, name: str) -> Any:
    """The parameter ``name``, ``None`` when absent or empty."""
    value = params.get(name)
    return None if value is None or value == "" else value


def p_str(params: JSON, name: str, default: str | None = None) -> str | None:
    """The parameter as a string (``default`` when absent)."""
    value = p_opt(params, name)
    return default if value is None else str(value)


def p_int(params: JSON, name: str, default: int | None = None) -> int | None:
    """The parameter as an integer; ``invalid <name> specified`` when it is not one."""
    value = p_opt(params, name)
    if value is None:
        return default
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None


def p_float(params: JSON, name: str, default: float) -> float:
    """The parameter as a float; ``invalid <name> specified`` when it is not one."""
    value = p_opt(params, name)
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def p_bool(params: JSON, name: str) -> bool:
    """The parameter as a boolean (form values ``true``/``1``/``yes``)."""
    value = p_opt(params, name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def p_json(params: JSON, name: str, what: str | None = None) -> Any:
    """The parameter JSON-decoded when it came as a string (form fields such as ``reply_markup``)."""
    value = p_opt(params, name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None
    return value
